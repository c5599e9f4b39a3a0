"""What `lumbung run` does before serving in embedded mode: on an empty data directory it
seeds the demo district (unless LUMBUNG_DEMO=off), then prints a one-time sign-in link for it."""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console

from services.dashboard.signin import CODE_MINUTES, login_link, mint_code
from shared.auth import Role, mint_token
from shared.demo.console import bars
from shared.demo.model import DISTRICT_CODE, DISTRICT_NAME, DemoConfig
from shared.integrations.messages import sentence
from shared.settings import Settings

DEMO_OFF = frozenset({"off", "0", "false", "no"})
DASHBOARD_SUB = "demo-dashboard"


def demo_config() -> DemoConfig:
    """The demo seeded on first start: the default district, seed 1, history up to today."""
    return DemoConfig()


def demo_wanted(settings: Settings) -> bool:
    return settings.demo.strip().lower() not in DEMO_OFF


def registered_villages(settings: Settings) -> tuple[int, int]:
    """(all villages, demo-district villages) in the embedded store; (0, 0) if there is none."""
    if not settings.sqlite_path.exists():
        return 0, 0
    from services.registry.routes import VILLAGES
    from shared.adapters.sqlite_store import SqliteStore

    store = SqliteStore(settings.sqlite_path)
    try:
        return store.count(VILLAGES), store.count(VILLAGES, {"district_code": DISTRICT_CODE})
    finally:
        store.close()


def dashboard_url(settings: Settings) -> str:
    """Where this machine's dashboard answers (a wildcard bind address as loopback)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}"


def first_start(settings: Settings, console: Console, *, seed_demo: bool = True) -> None:
    villages, demo_villages = registered_villages(settings)
    if villages == 0 and seed_demo and demo_wanted(settings):
        from shared.demo.report import print_seed_report
        from shared.demo.seed import seed_embedded

        config = demo_config()
        size = f"{config.households} households, {config.villages} villages"
        console.print(
            sentence(
                f"Mulai pertama: mengisi kabupaten demo {DISTRICT_CODE} ({config.households} "
                f"rumah tangga, {config.villages} desa; LUMBUNG_DEMO=off melewatinya)",
                f"First start: seeding the demo district {DISTRICT_CODE} ({size}; "
                "LUMBUNG_DEMO=off skips this)",
            )
        )
        try:
            with bars(console) as progress:
                report = seed_embedded(settings, config, progress=progress)
        except KeyboardInterrupt:
            console.print(
                sentence(
                    "Pengisian terhenti: `lumbung demo` menyelesaikannya (aman diulang)",
                    "Seeding interrupted: `lumbung demo` completes it (it is idempotent)",
                )
            )
            raise
        print_seed_report(console, config, report)
        if report.send.failed:
            failed = report.send.failed
            console.print(
                sentence(
                    f"{failed} penulisan demo gagal; platform tetap dijalankan",
                    f"{failed} demo writes failed; the platform starts anyway",
                )
            )
        demo_villages = config.villages
    if demo_villages:
        lifetime = timedelta(hours=settings.token_ttl_hours)
        admin = {"role": Role.DISTRICT_ADMIN, "sub": DASHBOARD_SUB, "district": DISTRICT_CODE}
        token = mint_token(settings.secret, **admin, ttl=lifetime)
        code = mint_code(settings.secret, **admin, session=lifetime)
        minutes = CODE_MINUTES
        console.print(
            f"Kabupaten demo {DISTRICT_CODE} ({DISTRICT_NAME}): masuk ke dasbor sebagai admin "
            f"kabupaten dengan tautan sekali pakai ini, berlaku {minutes} menit "
            f"(demo district {DISTRICT_CODE}: sign in to the dashboard as district admin with "
            f"this one-time link, valid for {minutes} minutes)"
        )
        console.print(f"  {login_link(dashboard_url(settings), code)}", soft_wrap=True)
        console.print(
            "Tautan baru (a new link): lumbung token --role district_admin --district "
            f"{DISTRICT_CODE} --link",
            soft_wrap=True,
        )
        console.print(
            f"Token Bearer (admin kabupaten {DISTRICT_CODE}; bearer token, district admin):",
            token,
            soft_wrap=True,
        )
