"""Access and portability exports (GDPR Art. 15, 20): one package per person.

``records``  what the package holds: the records an erasure of the person would change, by key,
             and the v6 wire shape of each (the API's own serializers).
``others``   other people in her records taken out (Art. 15(4)): operators by role, other
             people's numbers, addresses and names in free text.
``report``   the HTML report in Czech and English: what is held, why, from where, for how long,
             who may receive it.
``package``  the job: plan, then the ZIP streamed through the encryptor into one blob.
``service``  asking for an export, downloading it, and its end: at ``expires`` its key is
             destroyed (crypto-shredded), by the scheduler's round.

Importing this package registers the job.
"""

from hovor.privacy.exports.package import KIND, STEPS
from hovor.privacy.exports.service import expire

__all__ = ["KIND", "STEPS", "expire"]
