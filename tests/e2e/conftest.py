"""Browser tests: Playwright driving Debian's headless Chromium against a live mmCAT server.

The fixtures ``chromium`` and ``page`` and the helpers ``sign_in`` and ``screenshot`` come from
``mmcat.testing``. Chromium comes from Debian (``apt-get install chromium``;
``tests/e2e/install-chromium.sh`` does it where it can). Screenshots of the pages are written to
``artifacts/screenshots/`` (``MMCAT_SCREENSHOTS`` to change it).
"""
