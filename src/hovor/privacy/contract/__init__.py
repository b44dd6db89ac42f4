"""Contract end (GDPR Art. 28(3)(g)): the tenant's data exported to the controller, then deleted.

``contents``  which resources the package holds, in the API's wire shape.
``package``   the export job: an age-encrypted ZIP with a signed manifest, written where the
              controller can reach it.
``purge``     the purge job: every row, key and object of the tenant gone, a signed certificate.
``service``   starting, the controller's receipt, the second operator's approval.
``signing``   the signed documents (manifest, certificate) and their verification.

Importing ``package`` and ``purge`` registers the jobs (``contract_api`` does, through ``service``).
"""
