"""Each behaviour detector: a positive scenario and a look-alike benign one."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from aupguard.abuse.detectors import BehaviourContext, BehaviourSettings, BehaviourSettingsError
from aupguard.abuse.detectors.ban_evasion import BanEvasionDetector
from aupguard.abuse.detectors.key_sharing import KeySharingDetector
from aupguard.abuse.detectors.model_extraction import ModelExtractionDetector
from aupguard.abuse.detectors.multi_account import MultiAccountDetector
from aupguard.abuse.detectors.rate_limit_evasion import RateLimitEvasionDetector
from aupguard.abuse.detectors.scraping import ScrapingDetector
from aupguard.abuse.detectors.underage import UnderageDetector
from aupguard.abuse.history import MemoryHistory, RequestEvent, prompt_shape
from aupguard.store.identity import network_of
from aupguard.store.records import AccountLink, AgeAttestation, AgeMethod, IdentifierKind, Plan

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
PLAN = Plan(id="p", name="P", rate_per_second=1, burst=10)


def _ctx(events: list[RequestEvent], **extra: object) -> BehaviourContext:
    history = MemoryHistory()
    recent = None
    for e in events:
        recent = history.record(e)
    assert recent is not None
    return BehaviourContext(event=events[-1], recent=recent, **extra)  # type: ignore[arg-type]


def _event(
    i: float,
    *,
    ip: str = "203.0.113.5",
    account: str = "acct_a",
    key: str = "key_1",
    prompt: str | None = None,
    geo: tuple[float, float] | None = None,
    device: str | None = None,
) -> RequestEvent:
    return RequestEvent(
        at=T0 + dt.timedelta(seconds=i),
        account_id=account,
        key_id=key,
        ip=ip,
        network=network_of(ip),
        geo=geo,
        device=device,
        shape=prompt_shape(prompt) if prompt else (),
    )


# -- key sharing ---------------------------------------------------------------------------


def test_key_sharing_many_networks() -> None:
    events = [_event(i * 20, ip=f"198.51.{i}.10") for i in range(14)]
    res = KeySharingDetector().check(_ctx(events))
    assert res.scores["abuse/key-sharing"] >= 0.8
    assert "seen from 14 networks in 10 min" in (res.evidence[0].detail or "")


def test_family_sharing_a_home_ip_is_not_key_sharing() -> None:
    devices = ["phone-ann", "phone-bob", "laptop", "tablet", "tv"]
    events = [_event(i * 5, ip="192.0.2.44", device=devices[i % 5]) for i in range(60)]
    assert KeySharingDetector().check(_ctx(events)).scores == {}


def test_key_sharing_impossible_travel() -> None:
    events = [
        _event(0, ip="198.51.100.1", geo=(52.52, 13.40)),  # Berlin
        _event(600, ip="203.0.113.1", geo=(-33.87, 151.21)),
    ]  # Sydney, 10 min later
    res = KeySharingDetector().check(_ctx(events))
    assert res.scores["abuse/key-sharing"] == 1.0
    assert any(e.rule == "impossible-travel" for e in res.evidence)


def test_commuter_is_not_impossible_travel() -> None:
    events = [
        _event(0, ip="198.51.100.1", geo=(52.52, 13.40)),  # Berlin
        _event(3 * 3600, ip="203.0.113.1", geo=(53.55, 9.99)),
    ]  # Hamburg, 3 h later
    assert KeySharingDetector().check(_ctx(events)).scores == {}


# -- multi-account and ban evasion -----------------------------------------------------------


def _link(account: str, **shared: list[str]) -> AccountLink:
    return AccountLink(account_id=account, shared={IdentifierKind(k): v for k, v in shared.items()})


def test_multi_account_by_email_device_payment() -> None:
    links = (
        _link("acct_b", email=["jdoe@gmail.com"]),
        _link("acct_c", device=["fp-9"]),
        _link("acct_d", payment=["card-77"]),
    )
    res = MultiAccountDetector().check(_ctx([_event(0)], links=links))
    assert res.scores["abuse/multi-account"] == 1.0
    assert "linked to 3 other accounts" in (res.evidence[0].detail or "")


def test_school_nat_is_not_multi_account() -> None:
    links = tuple(_link(f"acct_{i}", network=["203.0.113.0/24"]) for i in range(40))
    assert MultiAccountDetector().check(_ctx([_event(0)], links=links)).scores == {}


def test_ban_evasion() -> None:
    links = (_link("acct_banned", device=["fp-1"]),)
    res = BanEvasionDetector().check(
        _ctx([_event(0)], links=links, banned_accounts=frozenset({"acct_banned"}))
    )
    assert res.scores["abuse/ban-evasion"] == 1.0
    assert "device fp-1 with banned account acct_banned" in (res.evidence[0].detail or "")


def test_sharing_a_network_with_a_banned_account_is_not_ban_evasion() -> None:
    links = (_link("acct_banned", network=["203.0.113.0/24"]),)
    res = BanEvasionDetector().check(
        _ctx([_event(0)], links=links, banned_accounts=frozenset({"acct_banned"}))
    )
    assert res.scores == {}


# -- rate-limit evasion ------------------------------------------------------------------------


def test_linked_cluster_over_the_plan() -> None:
    events = [_event(i) for i in range(50)]  # 50 requests in the last minute by this account
    links = (_link("acct_b", payment=["card-1"]), _link("acct_c", payment=["card-1"]))
    res = RateLimitEvasionDetector().check(
        _ctx(events, links=links, plan=PLAN, linked_counts={"acct_b": 55, "acct_c": 60})
    )
    assert res.scores["abuse/rate-limit-evasion"] >= 0.8
    assert "3 linked accounts" in (res.evidence[0].detail or "")


def test_unlinked_accounts_each_within_plan_are_not_evasion() -> None:
    events = [_event(i) for i in range(50)]
    links = (_link("acct_b", network=["203.0.113.0/24"]),)  # same office, nothing more
    res = RateLimitEvasionDetector().check(
        _ctx(events, links=links, plan=PLAN, linked_counts={"acct_b": 55})
    )
    assert res.scores == {}


def test_linked_but_quiet_cluster_is_not_evasion() -> None:
    events = [_event(i * 10) for i in range(6)]
    links = (_link("acct_b", email=["x@gmail.com"]),)
    res = RateLimitEvasionDetector().check(
        _ctx(events, links=links, plan=PLAN, linked_counts={"acct_b": 4})
    )
    assert res.scores.get("abuse/rate-limit-evasion", 0) < 0.5


# -- scraping ----------------------------------------------------------------------------------


def test_machine_regular_cadence_is_scraping() -> None:
    events = [_event(i * 2.0 + random.Random(i).uniform(-0.05, 0.05)) for i in range(60)]
    res = ScrapingDetector().check(_ctx(events))
    assert res.scores["abuse/scraping"] >= 0.8
    assert "machine-regular" in (res.evidence[0].detail or "")


def test_a_person_prompting_in_bursts_is_not_scraping() -> None:
    rng = random.Random(7)
    t, events = 0.0, []
    for _ in range(60):
        t += rng.choice([2, 3, 5, 20, 45, 90, 240]) * rng.uniform(0.5, 1.5)
        events.append(_event(t))
    assert ScrapingDetector().check(_ctx(events)).scores == {}


def test_volume_far_above_history_is_scraping() -> None:
    history = MemoryHistory()
    start = T0 - dt.timedelta(days=3)
    for hour in range(72):  # three quiet days: 2 requests an hour
        for j in range(2):
            history.record(
                RequestEvent(
                    at=start + dt.timedelta(hours=hour, minutes=j * 17), account_id="acct_a"
                )
            )
    rng = random.Random(1)
    t = 0.0
    recent = None
    for _ in range(80):  # then 80 irregular requests in one hour
        t += rng.uniform(1, 60)
        recent = history.record(RequestEvent(at=T0 + dt.timedelta(seconds=t), account_id="acct_a"))
    assert recent is not None
    ctx = BehaviourContext(event=recent.by_account[-1], recent=recent)
    res = ScrapingDetector().check(ctx)
    assert res.scores["abuse/scraping"] >= 0.8
    assert any(e.rule == "volume" for e in res.evidence)


# -- model extraction ----------------------------------------------------------------------------


def test_templated_sweep_is_model_extraction() -> None:
    words = ["apple", "bridge", "cactus", "dolphin", "engine", "falcon", "glacier", "harbor"]
    prompts = [
        f"describe in exactly three sentences the concept of {w} {n} for a dataset"
        for n in range(4)
        for w in words
    ]
    events = [_event(i * 7, prompt=p) for i, p in enumerate(prompts)]
    res = ModelExtractionDetector().check(_ctx(events))
    assert res.scores["abuse/model-extraction"] >= 0.8
    assert "fit one template" in (res.evidence[0].detail or "")


def test_a_designer_iterating_is_not_model_extraction() -> None:
    prompts = [
        "a cat in a hat",
        "a red cat wearing a tall hat, watercolor",
        "watercolor cat, hat, soft",
        "cat portrait with top hat in the style of a victorian painting",
        "same but smiling",
        "make the background blue",
        "add a moon",
        "the cat holds an umbrella in the rain",
        "minimalist line art cat with hat",
        "a cat in a hat on a rooftop at night",
        "kitten with a hat, 3d render",
        "pixel art cat hat",
        "cat hat logo, flat vector",
        "a cat in a hat",
        "a cat in a hat",
        "retry: a cat in a hat, higher detail",
        "oil painting of a cat in a bowler hat",
        "cat wearing a crown instead",
        "two cats in hats having tea",
        "a dog in a hat for comparison",
        "back to the cat",
        "final: a cat in a hat, warm light, 35mm photo",
    ]
    events = [_event(i * 40, prompt=p) for i, p in enumerate(prompts)]
    score = ModelExtractionDetector().check(_ctx(events)).scores.get("abuse/model-extraction", 0)
    assert score < 0.5  # below any review threshold


def test_retrying_one_prompt_is_not_a_sweep() -> None:
    events = [
        _event(i * 3, prompt="render the same product photo of a white sneaker on grey")
        for i in range(30)
    ]
    assert ModelExtractionDetector().check(_ctx(events)).scores == {}


# -- underage --------------------------------------------------------------------------------------


def _age(
    years: int | None, method: AgeMethod = AgeMethod.SELF_DECLARED, consent: bool = False
) -> AgeAttestation:
    return AgeAttestation(
        account_id="acct_a",
        method=method,
        age_years=years,
        parental_consent=consent,
        recorded_at=T0,
    )


@pytest.mark.parametrize(
    ("age", "consent_ok", "expected"),
    [
        (None, False, 0.6),  # no attestation: review
        (_age(None, AgeMethod.FAILED), False, 1.0),
        (_age(15), False, 1.0),
        (_age(15, AgeMethod.PARENTAL_CONSENT, consent=True), False, 1.0),  # pack refuses consent
        (_age(15, AgeMethod.PARENTAL_CONSENT, consent=True), True, 0.0),  # pack accepts it
        (_age(19), False, 0.0),
    ],
)
def test_underage(age: AgeAttestation | None, consent_ok: bool, expected: float) -> None:
    res = UnderageDetector().check(
        _ctx([_event(0)], age=age, minimum_age=18, parental_consent_allowed=consent_ok)
    )
    assert res.scores.get("abuse/underage", 0.0) == expected


def test_no_minimum_age_no_signal() -> None:
    assert UnderageDetector().check(_ctx([_event(0)], age=_age(12))).scores == {}


# -- settings ---------------------------------------------------------------------------------------


def test_settings_override_and_errors() -> None:
    settings = BehaviourSettings.build({"abuse.key_sharing": {"networks": 20}})
    detector = KeySharingDetector(settings.settings["abuse.key_sharing"])  # type: ignore[arg-type]
    events = [_event(i * 20, ip=f"198.51.{i}.10") for i in range(14)]
    assert detector.check(_ctx(events)).scores["abuse/key-sharing"] < 0.8
    with pytest.raises(BehaviourSettingsError, match=r"unknown behaviour detector 'abuse\.nope'"):
        BehaviourSettings.build({"abuse.nope": {}})
    with pytest.raises(BehaviourSettingsError, match=r"abuse\.key_sharing\.netwroks"):
        BehaviourSettings.build({"abuse.key_sharing": {"netwroks": 3}})
    with pytest.raises(BehaviourSettingsError, match="networks"):
        BehaviourSettings.build({"abuse.key_sharing": {"networks": 1}})


def test_bad_events() -> None:
    with pytest.raises(ValueError, match="timezone"):
        RequestEvent(at=dt.datetime(2025, 1, 1), account_id="a")
    with pytest.raises(ValueError, match="latitude"):
        RequestEvent(at=T0, account_id="a", geo=(123.0, 0.0))


def test_out_of_order_events_are_not_machine_regular() -> None:
    # two workers appending to one Redis history: arrival order differs from time order
    times = [0, 40, 5, 300, 90, 7, 2000, 610, 33, 1200] * 4
    events = [_event(t + i * 0.001) for i, t in enumerate(times)]
    assert ScrapingDetector().check(_ctx(events)).scores == {}


def test_redis_history_matches_memory_history() -> None:
    from aupguard.abuse.history import RedisHistory
    from aupguard.store.testing import redis_test_url, redis_unavailable_reason, unique_name

    if reason := redis_unavailable_reason():
        pytest.skip(reason)
    prefix = unique_name("aupg_test_hist") + ":"
    redis_history = RedisHistory.from_url(redis_test_url(), prefix=prefix)
    memory = MemoryHistory()
    events = [
        _event(i * 2.0, ip=f"198.51.{i}.1", prompt=f"item {i} of the list") for i in range(30)
    ]
    for e in events:
        from_redis = redis_history.record(e)
        from_memory = memory.record(e)
    assert from_redis == from_memory
    since = T0 + dt.timedelta(seconds=30)
    assert (
        redis_history.account_counts(["acct_a", "acct_z"], since)
        == memory.account_counts(["acct_a", "acct_z"], since)
        == {"acct_a": 15, "acct_z": 0}
    )
    client = redis_history._client
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
