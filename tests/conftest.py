import os
import sys

# Tests run on small shapes; one thread keeps parallel helpers and CI predictable.
os.environ.setdefault('OMP_NUM_THREADS', '1')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import http.server  # noqa: E402
import threading  # noqa: E402

import pytest  # noqa: E402


class LoopbackFiles(object):
    """Files served by an HTTP server on 127.0.0.1 (ephemeral port), for download tests.

    ``put(name, data, length=None)`` serves ``data`` at ``url(name)``; ``length``
    sets a Content-Length that differs from the body (a truncated download).
    ``hits`` lists the requested paths.
    """

    def __init__(self):
        self.files, self.hits = {}, []
        files, hits = self.files, self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                if self.path not in files:
                    self.send_error(404)
                    return
                data, length = files[self.path]
                self.send_response(200)
                self.send_header('Content-Length', str(len(data) if length is None else length))
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, name):
        return 'http://127.0.0.1:{}/{}'.format(self.server.server_address[1], name)

    def put(self, name, data, length=None):
        self.files['/' + name] = (data, length)
        return self.url(name)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def loopback_files():
    files = LoopbackFiles()
    yield files
    files.close()
