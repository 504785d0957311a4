"""One page, hammered by every simulated user with no think time.

The runner starts locust once per page and passes the path (with its query string) in
``ZHELIBAN_BENCH_PATH``. Anything but a plain 200 counts as a failure: redirects are not followed,
so an HTTPS redirect or a login redirect shows up instead of being measured as a page.
"""

import os

from locust import FastHttpUser, constant, task

PATH = os.environ.get("ZHELIBAN_BENCH_PATH", "/healthz")


class PageVisitor(FastHttpUser):
    wait_time = constant(0)

    @task
    def get_page(self):
        with self.client.get(
            PATH, name=PATH, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                location = response.headers.get("Location") if response.headers else None
                detail = f" -> {location}" if location else ""
                response.failure(f"HTTP {response.status_code}{detail}")
