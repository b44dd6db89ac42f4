"""Backups to the declared destinations, and restores that never bring back anyone erased.

``destinations``  the places backups go (folders, S3-compatible buckets) with their locations.
``ledger``        the restore ledger: tombstones, shredded keys and redacted mentions, shipped to
                  every destination as they happen.
``replay``        doing the ledger again in a restored database.
``service``       taking, listing, pruning, restoring and drilling backups.
"""
