"""The image's HEALTHCHECK: exit 0 when `/health/live` of the service in this container answers 200.

Standard library only, and no shell or curl in the image: it runs the image's own Python.
"""

import os
import sys
import urllib.request

host = os.environ.get("REFERRAL_HOST", "0.0.0.0")  # noqa: S104 (read, not bound)
# A wildcard bind is reached on loopback; a specific address only on itself.
if host in {"", "0.0.0.0", "::"}:  # noqa: S104
    host = "127.0.0.1"
if ":" in host:
    host = f"[{host}]"
url = f"http://{host}:{os.environ.get('REFERRAL_PORT', '8000')}/health/live"
try:
    with urllib.request.urlopen(url, timeout=3) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
