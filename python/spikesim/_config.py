"""A config given as a path, as TOML text or as a nested dict: what the library is handed."""

import math
import os

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None


def _toml_key(k):
    k = str(k)
    bare = k and all(c.isalnum() or c in "_-" for c in k)
    return k if bare else '"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_value(v, where):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x, f'{where}.{k}')}" for k, x in v.items()) + " }"
    if hasattr(v, "tolist"):  # NumPy arrays and scalars
        return _toml_value(v.tolist(), where)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x, where) for x in v) + "]"
    raise TypeError(f"config key {where}: a {type(v).__name__} has no TOML form ({v!r})")


def dict_to_toml(config):
    """TOML text of a nested dict with the keys of the config file (tables as inline tables)."""
    return "".join(f"{_toml_key(k)} = {_toml_value(v, str(k))}\n" for k, v in config.items())


def _set_text(key, value):
    """One override key.path=value, the value in TOML syntax (a str is passed as written)."""
    return f"{key}={value if isinstance(value, str) else _toml_value(value, key)}"


def resolve(config, set=None):
    """(path, text, overrides) for the library: path "" for the built-in experiment (config None),
    text "" when the library reads the file `path`."""
    overrides = [_set_text(k, v) for k, v in (set or {}).items()]
    if config is None:
        return "", "", overrides
    if isinstance(config, dict):
        return "<dict>", dict_to_toml(config), overrides
    if isinstance(config, os.PathLike):
        return os.fspath(config), "", overrides
    if isinstance(config, str):
        # TOML text has a newline or an '='; a path has neither.
        if "\n" in config or "=" in config:
            return "<string>", config, overrides
        return config, "", overrides
    raise TypeError(f"config must be a path, TOML text or a dict, not {type(config).__name__}")


def output_file_named(config, set=None):
    """The output.file that the config (or `set`) names, else None."""
    if set and "output.file" in set:
        return str(set["output.file"])
    if isinstance(config, dict):
        f = config.get("output", {}).get("file") if isinstance(config.get("output"), dict) else None
        return f if f is None else str(f)
    if tomllib is None or config is None:
        return None
    path, text, _ = resolve(config)
    try:
        if not text:
            with open(path, "rb") as fh:
                text = fh.read().decode()
        t = tomllib.loads(text)
    except (OSError, ValueError):
        return None  # the library reports what is wrong with it
    out = t.get("output")
    return out.get("file") if isinstance(out, dict) and isinstance(out.get("file"), str) else None
