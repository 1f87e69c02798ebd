"""Prometheus metrics and structured JSON logs. Logs never carry raw content (prompts, images)
unless the operator sets AUPGUARD_LOG_CONTENT=true.

Metrics are per process: with several workers, scrape each, or run one worker per container.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from aupguard.engine.verdict import Verdict

LOGGER_NAME = "aupguard.api"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "aupguard_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "aupguard_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.verdicts = Counter(
            "aupguard_verdicts",
            "Verdicts by endpoint, modality and action",
            ["endpoint", "modality", "action"],
            registry=self.registry,
        )
        self.categories = Counter(
            "aupguard_verdict_categories",
            "Clause hits by category and action",
            ["category", "action"],
            registry=self.registry,
        )
        self.detector_latency = Histogram(
            "aupguard_detector_seconds",
            "Detector latency",
            ["detector"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
            registry=self.registry,
        )
        self.detector_errors = Counter(
            "aupguard_detector_errors",
            "Detector errors and timeouts (the pack's failure mode applied)",
            ["detector"],
            registry=self.registry,
        )
        self.upstream = Counter(
            "aupguard_upstream_requests",
            "Upstream generator calls by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.outputs = Counter(
            "aupguard_generated_outputs",
            "Generated outputs delivered or removed",
            ["outcome"],
            registry=self.registry,
        )

    def observe_verdict(self, endpoint: str, verdict: Verdict) -> None:
        self.verdicts.labels(endpoint, verdict.modality.value, verdict.action.value).inc()
        for hit in verdict.clauses:
            self.categories.labels(hit.category, hit.action.value).inc()
        for run in verdict.detectors:
            # strip "[base64]" suffixes of re-scans so label cardinality stays bounded
            name = run.name.split("[", 1)[0]
            self.detector_latency.labels(name).observe(run.elapsed_ms / 1000)
            if run.error:
                self.detector_errors.labels(name).inc()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(level: str) -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return logger


def log_event(logger: logging.Logger, msg: str, **fields: Any) -> None:
    logger.info(msg, extra={"fields": fields})


def now_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
