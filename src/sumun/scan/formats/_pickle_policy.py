"""Which pickle globals a model file may import: a default-deny allowlist and a danger table.

Unpickling a global is `importlib.import_module(module)` followed by a `getattr` walk over the
dotted name; calling it (REDUCE, NEWOBJ, OBJ, INST) runs whatever that object does. A file that
only holds tensors needs a small, fixed set of globals (PyTorch's `weights_only` unpickler is
built on the same idea), so the judgement is:

1. **dangerous** (`critical`): the module, any parent package, or any attribute reached through
   a dotted name is in the danger table below — code execution, process and file-system access,
   network, nested deserializers (`pickle.loads`, `torch.load`, `numpy.load`…), scanner tampering,
   or an interpreter internal reached through a dunder (`numpy.__builtins__`, `x.__globals__`).
   Dotted names are walked because `STACK_GLOBAL "pathlib" "os.system"` reaches `os.system`
   through `pathlib`'s own import of `os` (fickling GHSA-5j3x-jp52-966f, modelscan #89).
2. **allowed**: an exact `module.name` on `DEFAULT_ALLOWED` (after Python 2 → 3 name mapping, as
   the unpickler itself does with `fix_imports`), a torch storage class, or an entry added by
   configuration (`GlobalPolicy.extended`, or `SUMUN_SCAN_PICKLE_ALLOW`).
3. **trusted**: a type on the trusted-types table (`data/trusted_types.yaml`: what
   scikit-learn, XGBoost, LightGBM, CatBoost, SciPy sparse and pandas pickles import at the
   pinned versions, recorded from real objects, in the spirit of skops' trusted types), used
   the way its library's own pickles use it: instantiated as a class then given its state
   (`new`), called with arguments (`call`), or only referenced. A trusted class *called* with
   arguments by REDUCE is not what its library writes, and is judged as unknown.
4. **unknown** (`high`): any other global that the pickle *calls* with arguments (REDUCE, INST,
   OBJ). The table of dangerous names can never be complete (picklescan and modelscan have
   shipped a new bypass every few months by finding one more stdlib helper that runs code);
   default deny is what makes an unlisted gadget still fail.
5. **unknown class** (`medium`): any other global that is only instantiated as a class
   (NEWOBJ, `copyreg._reconstructor`) or referenced — a project's own `TrainConfig`. Loading
   imports its module and runs the class's own `__setstate__`, but nothing in the file chooses
   a function to call with its arguments. `pickle.py` raises these to high when the same
   stream also does something dangerous.

Configuration can only widen the allowlist for names that are not dangerous: `os.system` stays
critical whatever the configuration says.
"""

from __future__ import annotations

import _compat_pickle
import enum
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources

import yaml

from sumun.scan.formats._pickle_record import GlobalUse

__all__ = [
    "ALLOW_ENV",
    "DEFAULT_ALLOWED",
    "DEFAULT_POLICY",
    "GlobalPolicy",
    "TrustedType",
    "Verdict",
    "VerdictKind",
    "load_trusted_types",
    "policy_from_env",
    "trust_entries",
]

ALLOW_ENV = "SUMUN_SCAN_PICKLE_ALLOW"


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- what a checkpoint legitimately imports -------------------------------------------------

_TORCH_DTYPES = _names(
    "float32 float float64 double float16 half bfloat16 complex32 chalf complex64 "
    "cfloat complex128 cdouble uint8 uint16 uint32 uint64 int8 int16 short int32 int "
    "int64 long bool qint8 quint8 qint32 quint4x2 quint2x4 float8_e4m3fn float8_e5m2 "
    "float8_e4m3fnuz float8_e5m2fnuz float8_e8m0fnu float4_e2m1fn_x2 bits8 bits16 "
    "bits1x8 bits2x4 bits4x2"
)
_TORCH_LAYOUTS = _names(
    "strided sparse_coo sparse_csr sparse_csc sparse_bsr sparse_bsc _mkldnn jagged "
    "contiguous_format channels_last channels_last_3d preserve_format "
    "per_tensor_affine per_channel_affine per_tensor_symmetric per_channel_symmetric "
    "per_channel_affine_float_qparams"
)
_TORCH_REBUILD = _names(
    "_rebuild_tensor _rebuild_tensor_v2 _rebuild_tensor_v3 _rebuild_parameter "
    "_rebuild_parameter_with_state _rebuild_qtensor _rebuild_sparse_tensor "
    "_rebuild_nested_tensor _rebuild_meta_tensor_no_storage _rebuild_wrapper_subclass "
    "_rebuild_device_tensor_from_numpy _rebuild_device_tensor_from_cpu_tensor"
)
_NUMPY_SCALARS = _names(
    "bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 intc uintc intp uintp "
    "float16 float32 float64 longdouble complex64 complex128 clongdouble str_ bytes_ "
    "object_ void datetime64 timedelta64"
)

DEFAULT_ALLOWED: frozenset[str] = frozenset(
    [
        # containers and plain values (protocol 2 writes them as `__builtin__.*`)
        "collections.OrderedDict",
        "collections.defaultdict",  # its factory is a separate global, judged on its own
        "collections.Counter",
        "collections.deque",
        "builtins.set",
        "builtins.frozenset",
        "builtins.bytearray",
        "builtins.bytes",
        "builtins.slice",
        "builtins.complex",
        "builtins.range",
        "builtins.object",
        "builtins.dict",
        "builtins.list",
        "builtins.tuple",
        "builtins.int",
        "builtins.float",
        "builtins.str",
        "builtins.bool",
        "builtins.Ellipsis",
        "builtins.NotImplemented",
        # the default object protocol of pickle itself (the class it builds is judged apart)
        "copyreg._reconstructor",
        "copyreg.__newobj__",
        "copyreg.__newobj_ex__",
        # protocol 2 encodes `bytes` as _codecs.encode(text, "latin1"); any other encoding is
        # reported by the walker (`pickle.suspicious-call`)
        "_codecs.encode",
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "datetime.timezone",
        "decimal.Decimal",
        "fractions.Fraction",
        "uuid.UUID",
        "argparse.Namespace",  # fairseq-style checkpoints keep their training args
        "pathlib.Path",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "pathlib.PurePath",
        "pathlib.PurePosixPath",
        "pathlib.PureWindowsPath",
        # numpy arrays, dtypes, scalars and random generator state
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar",
        "numpy.core.numeric._frombuffer",
        "numpy._core.numeric._frombuffer",
        "numpy.ma.core._mareconstruct",
        "numpy.ma.core.MaskedArray",
        "numpy.matrixlib.defmatrix.matrix",
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__generator_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random._mt19937.MT19937",
        "numpy.random._pcg64.PCG64",
        "numpy.random._pcg64.PCG64DXSM",
        "numpy.random._philox.Philox",
        "numpy.random._sfc64.SFC64",
        "numpy.random.bit_generator.SeedSequence",
        "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
        *(f"numpy.{name}" for name in _NUMPY_SCALARS),
        # PyTorch tensors, parameters, storages, dtypes (torch.save writes these)
        *(f"torch._utils.{name}" for name in _TORCH_REBUILD),
        "torch._tensor._rebuild_from_type",
        "torch._tensor._rebuild_from_type_v2",
        "torch.nn.parameter.Parameter",
        "torch.Tensor",
        "torch.Size",
        "torch.device",
        "torch.serialization._get_layout",
        "torch.storage.TypedStorage",
        "torch.storage.UntypedStorage",
        "torch.UntypedStorage",
        "torch.TypedStorage",
        "torch.torch_version.TorchVersion",
        *(f"torch.{name}" for name in _TORCH_DTYPES),
        *(f"torch.{name}" for name in _TORCH_LAYOUTS),
        # joblib's placeholder for an ndarray whose raw bytes follow in the stream
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    ]
)

# `torch.FloatStorage`, `torch.cuda.HalfStorage`, … (legacy typed storages)
_TORCH_STORAGE = re.compile(r"(?:torch|torch\.cuda)\.[A-Z][A-Za-z0-9]*Storage")

# --- what must never be imported -------------------------------------------------------------


class _Why(enum.Enum):
    EXEC = "runs code or commands"
    NESTED = "deserializes a nested payload"
    NETWORK = "opens network connections"
    FILES = "reads, writes or deletes files"
    INTROSPECT = "reaches interpreter internals"
    TAMPER = "tampers with security scanners"


# Whole modules (and every submodule): nothing in them belongs in a model file.
_DANGEROUS_MODULES: dict[str, _Why] = {
    **dict.fromkeys(
        _names(
            "os posix nt _winapi msvcrt subprocess _posixsubprocess pty runpy code codeop pdb "
            "bdb timeit cProfile profile trace doctest idlelib lib2to3 ensurepip venv "
            "distutils setuptools pip commands popen2 multiprocessing _multiprocessing "
            "asyncio threading _thread concurrent importlib imp pkgutil zipimport site ctypes "
            "_ctypes cffi types operator _operator functools itertools sys gc inspect pydoc "
            "mailcap _osx_support _aix_support signal faulthandler resource numexpr"
        ),
        _Why.EXEC,
    ),
    **dict.fromkeys(
        ["pickle", "_pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "jsonpickle"],
        _Why.NESTED,
    ),
    **dict.fromkeys(
        _names(
            "socket _socket ssl http httplib urllib urllib2 urllib3 requests httpx aiohttp "
            "ftplib smtplib telnetlib xmlrpc webbrowser asyncore imaplib poplib nntplib "
            "socketserver"
        ),
        _Why.NETWORK,
    ),
    **dict.fromkeys(["shutil"], _Why.FILES),
    **dict.fromkeys(["fickling", "picklescan", "modelscan", "modelaudit"], _Why.TAMPER),
    # library entry points known to run code, fetch code, or load nested payloads
    **dict.fromkeys(
        _names(
            "torch.hub torch.utils.bottleneck torch._dynamo torch._inductor torch.distributed "
            "torch.utils.collect_env torch.utils.data.datapipes.utils.decoder "
            "torch.utils.cpp_extension torch.utils._config_module torch.utils.model_zoo "
            "torch.package torch.testing torch.jit.unsupported_tensor_ops "
            "torch.jit.annotations torch.fx.experimental.symbolic_shapes numpy.testing "
            "numpy.f2py numpy.distutils numpy.ctypeslib pandas.core.computation "
            "sympy.core.sympify logging.config"
        ),
        _Why.EXEC,
    ),
    **dict.fromkeys(["pandas.io.pickle", "joblib.numpy_pickle_compat"], _Why.NESTED),
}

# Single names in otherwise ordinary modules.
_DANGEROUS_NAMES: dict[tuple[str, str], _Why] = {
    **{
        ("builtins", name): _Why.EXEC
        for name in _names(
            "eval exec compile __import__ getattr setattr delattr breakpoint input globals "
            "locals vars exit quit help apply execfile reload raw_input map filter "
            "__builtins__ __loader__ __spec__"
        )
    },
    ("builtins", "open"): _Why.FILES,
    ("builtins", "file"): _Why.FILES,
    ("io", "open"): _Why.FILES,
    ("io", "FileIO"): _Why.FILES,
    ("io", "open_code"): _Why.FILES,
    ("_io", "open"): _Why.FILES,
    ("_io", "FileIO"): _Why.FILES,
    ("codecs", "open"): _Why.FILES,
    ("copyreg", "add_extension"): _Why.EXEC,
    ("copyreg", "dispatch_table"): _Why.EXEC,
    ("copyreg", "pickle"): _Why.EXEC,
    ("copyreg", "constructor"): _Why.EXEC,
    ("joblib", "load"): _Why.NESTED,
    ("joblib.numpy_pickle", "load"): _Why.NESTED,
    ("joblib.numpy_pickle", "NumpyUnpickler"): _Why.NESTED,
    ("numpy", "load"): _Why.NESTED,
    ("numpy.lib.npyio", "load"): _Why.NESTED,
    ("numpy.lib._npyio_impl", "load"): _Why.NESTED,
    ("numpy.lib.format", "read_array"): _Why.NESTED,
    ("numpy", "fromfile"): _Why.FILES,
    ("numpy", "save"): _Why.FILES,
    ("numpy", "savetxt"): _Why.FILES,
    ("numpy", "tofile"): _Why.FILES,
    ("torch", "load"): _Why.NESTED,
    ("torch.serialization", "load"): _Why.NESTED,
    ("torch.serialization", "_legacy_load"): _Why.NESTED,
    ("torch.jit", "load"): _Why.NESTED,
    ("torch", "save"): _Why.FILES,
    ("torch.serialization", "save"): _Why.FILES,
    ("pandas", "read_pickle"): _Why.NESTED,
    ("pandas", "eval"): _Why.EXEC,
    ("sympy", "sympify"): _Why.EXEC,
    ("yaml", "load"): _Why.NESTED,
    ("yaml", "unsafe_load"): _Why.NESTED,
    ("yaml", "full_load"): _Why.NESTED,
    ("yaml", "load_all"): _Why.NESTED,
    ("uuid", "_get_command_stdout"): _Why.EXEC,
}

_DUNDER = re.compile(r"__\w+__")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_MAX_PARTS = 32


# --- trusted ML types (data/trusted_types.yaml) -----------------------------------------------
_MODES = frozenset({"new", "call", "ref"})


@dataclass(frozen=True, slots=True)
class TrustedType:
    family: str  # "scikit-learn", "pandas", …
    made_with: str  # "scikit-learn==1.9.1": the version whose pickles it was recorded from
    modes: frozenset[str]  # "new" (class + BUILD), "call" (REDUCE), "ref" (referenced only)


def parse_trusted_types(text: str) -> dict[str, TrustedType]:
    """The table's `families: {family: {made_with, versions, types: {name: [modes]}}}`.

    Raises `ValueError` on a malformed table (a packaging bug, caught by the tests)."""
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    if not isinstance(raw, dict) or raw.get("format") != 1:
        raise ValueError("trusted types: expected format: 1")
    out: dict[str, TrustedType] = {}
    for family, body in (raw.get("families") or {}).items():
        if not isinstance(body, dict) or not isinstance(body.get("types"), dict):
            raise ValueError(f"trusted types: family {family!r} has no types")
        made_with = str(body.get("made_with", ""))
        for name, modes in body["types"].items():
            if not (isinstance(name, str) and _DOTTED.fullmatch(name) and "." in name):
                raise ValueError(f"trusted types: not a module.name global: {name!r}")
            if _dangerous(*name.rsplit(".", 1)) is not None:
                raise ValueError(f"trusted types: {name} is on the danger table")
            if not (isinstance(modes, list) and modes and set(modes) <= _MODES):
                raise ValueError(f"trusted types: bad modes for {name}: {modes!r}")
            out[name] = TrustedType(str(family), made_with, frozenset(modes))
    return out


@functools.cache
def load_trusted_types() -> Mapping[str, TrustedType]:
    """The packaged trusted-types table (read once per process)."""
    text = resources.files("sumun.scan").joinpath("data/trusted_types.yaml").read_text("utf-8")
    return parse_trusted_types(text)


class VerdictKind(enum.Enum):
    ALLOWED = "allowed"
    UNKNOWN = "unknown"
    UNKNOWN_CLASS = "unknown-class"  # not called with arguments: instantiated or referenced
    DANGEROUS = "dangerous"
    NESTED = "nested"  # a dangerous global that deserializes a nested payload


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: VerdictKind
    reason: str  # why, in a few words, for the finding message ("" when allowed)


def _normalize(module: str, name: str) -> tuple[str, str]:
    """Python 2 names as the unpickler maps them with `fix_imports` (`__builtin__` → builtins)."""
    mapped = _compat_pickle.NAME_MAPPING.get((module, name))
    if mapped is not None:
        return mapped
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _dangerous(module: str, name: str) -> _Why | None:
    mod_parts = module.split(".")
    parts = mod_parts + name.split(".")
    if len(parts) > _MAX_PARTS:
        return _Why.INTROSPECT
    # Windows that start at the module root, or at any attribute reached by the getattr walk.
    # Windows starting inside the module path are not real imports (`numpy.random._pickle`
    # is not `_pickle`).
    for start in (0, *range(len(mod_parts), len(parts))):
        for end in range(start + 1, len(parts) + 1):
            path = ".".join(parts[start:end])
            why = _DANGEROUS_MODULES.get(path)
            if why is not None:
                return why
            if end < len(parts):
                why = _DANGEROUS_NAMES.get((path, parts[end]))
                if why is not None:
                    return why
    return None


@dataclass(frozen=True, slots=True)
class GlobalPolicy:
    """An allowlist of `module.name` globals; MUST be judged after the danger table.

    `allowed` holds exact names; `allowed_modules` holds module prefixes from `pkg.*` entries
    (any global whose module is `pkg` or under `pkg.`).
    """

    allowed: frozenset[str] = DEFAULT_ALLOWED
    allowed_modules: tuple[str, ...] = ()
    trusted: Mapping[str, TrustedType] = field(default_factory=load_trusted_types)

    def extended(self, entries: Iterable[str]) -> GlobalPolicy:
        """A policy that also allows `entries`: `module.name`, or `package.*` for a package.

        Raises `ValueError` for an entry that is not a dotted name (`"os system"`) or that names
        a dunder (`"numpy.__builtins__"`): those reach interpreter internals.
        """
        exact = set(self.allowed)
        modules = list(self.allowed_modules)
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            if entry.endswith(".*"):
                prefix = entry[:-2]
                if not _DOTTED.fullmatch(prefix):
                    raise ValueError(f"not a module name: {entry!r}")
                modules.append(prefix)
            elif _DOTTED.fullmatch(entry) and "." in entry and not _DUNDER.search(entry):
                exact.add(entry)
            else:
                raise ValueError(f"not a module.name global: {entry!r}")
        return GlobalPolicy(frozenset(exact), tuple(dict.fromkeys(modules)), self.trusted)

    def judge(self, module: str, name: str) -> Verdict:  # noqa: PLR0911 - ordered rules
        """Judge one imported global. Pure; never raises."""
        if not (_DOTTED.fullmatch(module) and _DOTTED.fullmatch(name)):
            return Verdict(VerdictKind.UNKNOWN, "not a valid Python name")
        norm_module, norm_name = _normalize(module, name)
        for mod, nam in {(module, name), (norm_module, norm_name)}:
            why = _dangerous(mod, nam)
            if why is not None:
                kind = VerdictKind.NESTED if why is _Why.NESTED else VerdictKind.DANGEROUS
                return Verdict(kind, why.value)
        full = f"{norm_module}.{norm_name}"
        if full in self.allowed or full in self.trusted:
            return Verdict(VerdictKind.ALLOWED, "")
        if any(_DUNDER.fullmatch(part) for part in name.split(".")):
            return Verdict(VerdictKind.DANGEROUS, _Why.INTROSPECT.value)
        if _TORCH_STORAGE.fullmatch(full):
            return Verdict(VerdictKind.ALLOWED, "")
        for prefix in self.allowed_modules:
            if norm_module == prefix or norm_module.startswith(prefix + "."):
                return Verdict(VerdictKind.ALLOWED, "")
        return Verdict(VerdictKind.UNKNOWN, "not on the allowlist of model-checkpoint globals")

    def _configured(self, full: str, module: str) -> bool:
        return full in self.allowed or any(
            module == prefix or module.startswith(prefix + ".") for prefix in self.allowed_modules
        )

    def judge_use(self, use: GlobalUse) -> Verdict:  # noqa: PLR0911 - ordered rules
        """Judge a global with how the stream used it (`judge` plus the trusted types' modes
        and the unknown-class rule). Pure; never raises."""
        verdict = self.judge(use.module, use.name)
        module, name = _normalize(use.module, use.name)
        full = f"{module}.{name}"
        # getattr(<global>, "<literal>"): the attribute is judged as its own global.
        # partial(<global>, …): building one calls nothing (calling it would be an indirect
        # call); what it wraps is judged as its own global, and must not be dangerous.
        if (
            full in _MODELLED
            and use.calls
            and use.modelled == use.calls
            and all(self.judge(*t).kind not in _HARMFUL for t in use.targets)
        ):
            return Verdict(VerdictKind.ALLOWED, "")
        if verdict.kind in (VerdictKind.DANGEROUS, VerdictKind.NESTED):
            return verdict
        trusted = self.trusted.get(full)
        if trusted is not None and not self._configured(full, module):
            if use.reduces and "call" not in trusted.modes:
                return Verdict(
                    VerdictKind.UNKNOWN,
                    f"a trusted {trusted.family} class, but called with arguments (REDUCE), "
                    f"which {trusted.made_with} pickles never do",
                )
            if use.news and not trusted.modes & {"new", "call"}:
                return Verdict(
                    VerdictKind.UNKNOWN_CLASS,
                    f"a trusted {trusted.family} name, but instantiated as a class, "
                    f"which {trusted.made_with} pickles never do",
                )
            return Verdict(VerdictKind.ALLOWED, "")
        if verdict.kind is VerdictKind.UNKNOWN and use.reduces == 0:
            return Verdict(VerdictKind.UNKNOWN_CLASS, "not on the allowlist or trusted types")
        return verdict


DEFAULT_POLICY = GlobalPolicy()
_MODELLED = frozenset({"builtins.getattr", "functools.partial"})
_HARMFUL = frozenset({VerdictKind.DANGEROUS, VerdictKind.NESTED})


def trust_entries(modules: Iterable[str]) -> list[str]:
    """`--trust-module my_project` as allowlist entries (`my_project.*`); `ValueError` for a
    name that is not a dotted module name."""
    out = []
    for raw in modules:
        name = raw.strip().removesuffix(".*")
        if not _DOTTED.fullmatch(name) or _DUNDER.search(name):
            raise ValueError(f"not a module name: {raw!r}")
        out.append(f"{name}.*")
    return out


def policy_from_env(environ: Mapping[str, str]) -> GlobalPolicy:
    """`DEFAULT_POLICY` extended with `SUMUN_SCAN_PICKLE_ALLOW` (comma or space separated).

    Raises `ValueError` naming the bad entry if the variable holds something that is not a
    global name; the caller turns it into a usage error.
    """
    raw = environ.get(ALLOW_ENV, "")
    if not raw.strip():
        return DEFAULT_POLICY
    return DEFAULT_POLICY.extended(re.split(r"[,\s]+", raw))
