"""The record of processing activities (GDPR Art. 30) of one controller, generated.

``record``    what it says, from the registry, the policies, the locations and the users (JSON).
``document``  the same as a printable document in Czech or English: HTML, or PDF (WeasyPrint).
"""
