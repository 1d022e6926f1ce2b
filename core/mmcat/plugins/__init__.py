"""The plugin contract: discovery (loading), identity (config), hooks (hookspecs, manager)."""
