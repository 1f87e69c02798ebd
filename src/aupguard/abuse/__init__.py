"""Platform abuse: cost-weighted rate limits and quotas (``ratelimit``), the request history
behaviour detectors read (``history``), and the behaviour detectors (``detectors/``).

The per-request entry point for the HTTP service is ``aupguard.enforcement.Guard``.
"""
