from django.conf import settings
from django.db import models


class Profile(models.Model):
    """A site's user profile, for the user-sync tests (a city and loyalty points)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    city = models.CharField(max_length=100, blank=True)
    loyalty_points = models.IntegerField(default=0)
    birthday = models.DateField(null=True, blank=True)

    def __str__(self):
        return f"Profile of {self.user}"
