"""Everything the editor sees, one module per area; grouped into a menu by ``viewsets``."""
