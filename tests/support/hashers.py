"""A password hasher for the test suite: Django's PBKDF2 with one iteration.

Django's default (a million iterations) costs about half a second per password on
this machine, and most tests make a user. The hashes this one writes are ordinary
`pbkdf2_sha256$1$...` hashes: Django's own PBKDF2 hasher reads the iterations from
the hash, so the web servers and workers the end-to-end tests start (which use the
service's settings) check these passwords too, and rehash them at full strength
on the first login.
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class OneIterationPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1
