"""Files on storages: manual recordings, Visual Backup segments, their index and tags."""
