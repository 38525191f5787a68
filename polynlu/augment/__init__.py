"""Training data made from other data: labels projected onto translations (``projection``).

Sits above ``models`` (it borrows the multilingual encoder) and below ``training``, which
reads what it writes as any other data.
"""
