#!/usr/bin/env bash
# Build the sdist and wheel, check what the wheel holds, install it into a new
# virtualenv, create a new Wagtail project there, add the app and migrate.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PY:-$PWD/.venv/bin/python}"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "-- Building into $WORK/dist"
"$PY" -m build --outdir "$WORK/dist" . >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
ls -l "$WORK/dist"
WHEEL=$(ls "$WORK"/dist/*.whl)

echo "-- Checking the wheel's contents"
git ls-files wagtail_mailflow >"$WORK/tracked.txt"
"$PY" - "$WHEEL" "$WORK/tracked.txt" <<'PY'
import sys
import zipfile

wheel, tracked_list = sys.argv[1], sys.argv[2]
names = set(zipfile.ZipFile(wheel).namelist())
tracked = [line.strip() for line in open(tracked_list) if line.strip()]
problems = []

# Every data file and migration the repository tracks must ship.
for kind in ("templates", "static", "locale", "migrations"):
    wanted = [p for p in tracked if p.startswith(f"wagtail_mailflow/{kind}/")]
    if kind == "locale":
        wanted = [p for p in wanted if p.endswith((".po", ".mo"))]
    missing = [p for p in wanted if p not in names]
    problems += [f"missing from the wheel: {p}" for p in missing]
    print(f"{kind:10} {len(wanted) - len(missing)}/{len(wanted)} files")
for required in ("templates", "migrations"):
    if not any(n.startswith(f"wagtail_mailflow/{required}/") for n in names):
        problems.append(f"the wheel has no wagtail_mailflow/{required}/")

# Nothing from the sandbox, the tests, the benchmarks or the docs.
for name in sorted(names):
    top = name.split("/", 1)[0]
    if top in ("sandbox", "tests", "bench", "docs", "home") or "/tests/" in name:
        problems.append(f"should not be in the wheel: {name}")
    if name.endswith((".pyc", ".sqlite3")) or "__pycache__" in name:
        problems.append(f"build debris in the wheel: {name}")

print(f"{len(names)} files in {wheel.rsplit('/', 1)[-1]}")
if problems:
    print("\n".join(problems))
    sys.exit(1)
PY

echo "-- Installing the wheel into a new virtualenv"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$WHEEL"
"$WORK/venv/bin/python" -c "import wagtail, wagtail_mailflow; print('wagtail', wagtail.__version__)"

echo "-- Creating a new Wagtail project and adding wagtail-mailflow"
cd "$WORK"
mkdir site
"$WORK/venv/bin/wagtail" start mysite site >/dev/null
cd site
cat >>mysite/settings/base.py <<'SETTINGS'

# wagtail-mailflow and what it needs
from wagtail_mailflow.settings_helpers import q_cluster  # noqa: E402

INSTALLED_APPS += ["wagtail_mailflow", "django_q", "anymail"]
Q_CLUSTER = q_cluster()
WAGTAIL_MAILFLOW_FROM_EMAIL = "news@example.com"
SETTINGS
cat >>mysite/urls.py <<'URLS'

urlpatterns = [
    path("anymail/", include("anymail.urls")),
    path("mailflow/", include("wagtail_mailflow.urls")),
] + urlpatterns
URLS
"$WORK/venv/bin/python" manage.py check
"$WORK/venv/bin/python" manage.py migrate --noinput -v0
"$WORK/venv/bin/python" manage.py showmigrations wagtail_mailflow django_q | tail -n +1
"$WORK/venv/bin/python" manage.py shell -c "
from wagtail_mailflow.models import ContactList, EmailWorkflow
ContactList.objects.create(name='Newsletter')
print('ContactList rows:', ContactList.objects.count(), '| EmailWorkflow rows:', EmailWorkflow.objects.count())
"
echo "-- The wheel installs and migrates in a new Wagtail project"
