pytest_plugins = ["mmcat.testing"]
