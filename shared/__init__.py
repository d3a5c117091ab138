"""Code and data that roto's server and terminal console both use.

Installed as ``roto_shared``; it imports neither Sanic nor Textual.
"""
