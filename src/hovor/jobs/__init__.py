"""Long work as job rows: enqueued with the request that causes it, run by a worker, resumable."""
