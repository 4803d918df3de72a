"The environment `make test` runs in is the locked one: every locked package at its locked version, every requirement locked."
from configparser import ConfigParser
from importlib.metadata import distributions
from pathlib import Path
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / 'requirements-lock.txt'
DATA = ROOT / 'requirements-tokenizers.txt'      # data packages, installed without their dependencies


def read_lock(text: str) -> dict[str, Version]:
    "Package name -> pinned version of a `name==version` lock (comments and blank lines skipped)."
    pins = {}
    for line in text.splitlines():
        line = line.split('#')[0].strip()
        if line:
            name, sep, version = line.partition('==')
            assert sep and version, f"lock line {line!r} is not name==version"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def installed() -> dict[str, Version]:
    return {canonicalize_name(d.metadata['Name']): Version(d.version) for d in distributions()}


def lock_mismatches(lock: dict[str, Version], have: dict[str, Version]) -> list[str]:
    "What differs between a lock and the installed versions; a local label (torch's +cpu) is not a difference."
    return [f"{name}: locked {want}, installed {have[name] if name in have else 'nothing'}"
            for name, want in sorted(lock.items())
            if name not in have or Version(have[name].public) != Version(want.public)]


def unlocked_requirements(requirements: list[str], lock: dict[str, Version]) -> list[str]:
    "Requirements that the lock does not pin, or pins at a version outside their range."
    reqs = [Requirement(r) for r in requirements]
    return [str(r) for r in reqs
            if canonicalize_name(r.name) not in lock
            or not r.specifier.contains(lock[canonicalize_name(r.name)], prereleases=True)]


def test_checks_can_fail():
    lock = read_lock("# comment\nnumpy==2.4.6\ntorch==2.13.0\n\nPyYAML==6.0.3  # trailing comment\n")
    assert lock == {'numpy': Version('2.4.6'), 'torch': Version('2.13.0'), 'pyyaml': Version('6.0.3')}
    have = {'numpy': Version('2.4.5'), 'torch': Version('2.13.0+cpu')}
    assert lock_mismatches(lock, have) == ['numpy: locked 2.4.6, installed 2.4.5', 'pyyaml: locked 6.0.3, installed nothing']
    assert unlocked_requirements(['numpy>=2.5', 'torch>=2.4,<2.14', 'ray>=2.40'], lock) == ['numpy>=2.5', 'ray>=2.40']


def test_installed_packages_match_the_lock():
    differ = lock_mismatches(read_lock(LOCK.read_text()) | read_lock(DATA.read_text()), installed())
    assert not differ, f"the environment is not the locked one ({'; '.join(differ)}): run `rm -rf .venv && make install`"


def test_every_requirement_is_locked():
    cfg = ConfigParser(delimiters=['='])
    cfg.read(ROOT / 'settings.ini', encoding='utf-8')
    requirements = ' '.join(cfg['DEFAULT'][k] for k in ('requirements', 'ray_requirements', 'llm_requirements', 'dev_requirements')).split()
    missing = unlocked_requirements(requirements, read_lock(LOCK.read_text()))
    assert not missing, f"settings.ini asks for {', '.join(missing)}, which {LOCK.name} does not pin: run `make lock`, then `make test`"


def test_readme_states_the_locked_versions():
    line = next(l for l in (ROOT / 'README.md').read_text().splitlines() if l.startswith('Tested versions: '))
    stated = dict(item.split(' ') for item in line.removeprefix('Tested versions: ').rstrip('.').split(', '))
    lock = read_lock(LOCK.read_text())
    wrong = [f"{name} {v} (locked {lock.get(canonicalize_name(name))})" for name, v in stated.items()
             if lock.get(canonicalize_name(name)) != Version(v)]
    assert len(stated) >= 10 and not wrong, f"README's tested versions are not the lock's: {', '.join(wrong)}"
