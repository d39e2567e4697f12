"""_capi mirrors include/swiftmlp.h exactly: every function with its types, every
enum constant, every struct's size and field offsets."""

from __future__ import annotations

import ctypes
import re
import subprocess
from ctypes import POINTER, c_char, c_char_p, c_double, c_int, c_int32, c_size_t, c_uint, c_uint64, c_void_p

import pytest

from conftest import HEADER, compile_c
from swiftmlp import _capi


def header_text() -> str:
    text = HEADER.read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r"^\s*#.*$", " ", text, flags=re.M)


def header_prototypes() -> dict[str, tuple[str, list[str]]]:
    """name -> (return type, [parameter types]) of every function declaration."""
    text = header_text()
    prototypes = {}
    for match in re.finditer(r"([A-Za-z_][\w\s\*]*?)\b(smlp_\w+)\s*\(([^()]*)\)\s*;", text):
        restype, name, params = match.group(1), match.group(2), match.group(3)
        restype = " ".join(restype.split()[-3:])  # drop anything before the type
        restype = re.sub(r"^.*?\b(const\s+)?(\w+\s*\**)\s*$", r"\1\2", restype.strip())
        types = []
        for param in params.split(","):
            param = " ".join(param.split())
            if param in ("void", ""):
                continue
            # drop the parameter name: the last identifier
            param = re.sub(r"\b\w+$", "", param).strip()
            types.append(param.replace(" *", "*").replace("* ", "*"))
        prototypes[name] = (restype.replace(" *", "*").strip(), types)
    return prototypes


ENUM_NAMES = set(_capi.ENUMS)


def expected_ctype(c_type: str):
    """The ctypes type the binding must use for a C type of the header."""
    c_type = c_type.strip()
    const = c_type.startswith("const ")
    base = c_type.removeprefix("const ").strip()
    pointers = base.count("*")
    base = base.replace("*", "").strip()
    scalars = {"size_t": c_size_t, "int": c_int, "double": c_double, "unsigned": c_uint,
               "uint64_t": c_uint64, "int32_t": c_int32}
    if pointers == 0:
        if base == "void":
            return None
        if base in ENUM_NAMES:
            return c_int
        return scalars[base]
    if base == "smlp_model":
        return c_void_p if pointers == 1 else POINTER(c_void_p)
    if pointers == 1 and base == "void":
        return c_void_p
    if pointers == 1 and base == "char":
        return c_char_p if const else POINTER(c_char)
    if pointers == 2 and base in _capi.STRUCTS:  # an out-parameter for a struct the library allocates
        return POINTER(POINTER(_capi.STRUCTS[base]))
    assert pointers == 1, c_type
    if base in _capi.STRUCTS:
        return POINTER(_capi.STRUCTS[base])
    if base in ENUM_NAMES:
        return POINTER(c_int)
    return POINTER(scalars[base])


def test_header_parse_finds_the_functions():
    prototypes = header_prototypes()
    assert len(prototypes) >= 40
    assert prototypes["smlp_predict"][1] == ["smlp_model*", "smlp_dtype", "const void*", "size_t", "size_t",
                                             "void*", "size_t"]


def test_every_header_function_is_declared():
    prototypes = header_prototypes()
    assert sorted(prototypes) == sorted(_capi.PROTOTYPES)


@pytest.mark.parametrize("name", sorted(header_prototypes()))
def test_prototype_types_match_the_header(name):
    c_restype, c_params = header_prototypes()[name]
    restype, argtypes = _capi.PROTOTYPES[name]
    expected_res = expected_ctype(c_restype)
    if c_restype == "const char*":
        expected_res = c_char_p
    assert restype == expected_res, f"{name}: restype {restype} for C {c_restype}"
    assert list(argtypes) == [expected_ctype(p) for p in c_params], f"{name}: {c_params}"


def test_loaded_library_has_the_prototypes_applied():
    import swiftmlp
    for name, (restype, argtypes) in _capi.PROTOTYPES.items():
        function = getattr(swiftmlp._lib, name)
        assert function.restype == restype
        assert tuple(function.argtypes) == tuple(argtypes)


def test_enum_constants_match_the_header():
    text = header_text()
    found = {}
    for body_match in re.finditer(r"typedef\s+enum\s+(\w+)\s*\{(.*?)\}\s*(\w+)\s*;", text, flags=re.S):
        typedef = body_match.group(3)
        members = dict(re.findall(r"(SMLP_\w+)\s*=\s*(\d+)", body_match.group(2)))
        found[typedef] = {name: int(value) for name, value in members.items()}
    assert set(found) == set(_capi.ENUMS)
    for typedef, members in found.items():
        enum = _capi.ENUMS[typedef]
        mirrored = {f"SMLP_{member.name}": int(member) for member in enum}
        assert mirrored == members, typedef


def test_version_macros_match_the_header():
    text = HEADER.read_text()
    for name in ("SMLP_VERSION_MAJOR", "SMLP_VERSION_MINOR", "SMLP_VERSION_PATCH"):
        value = int(re.search(rf"#define {name} (\d+)", text).group(1))
        assert getattr(_capi, name) == value
    # The header spells SMLP_VERSION_STRING from the three numbers with the preprocessor.
    assert _capi.SMLP_VERSION_STRING == "%d.%d.%d" % (
        _capi.SMLP_VERSION_MAJOR, _capi.SMLP_VERSION_MINOR, _capi.SMLP_VERSION_PATCH)


def test_struct_field_names_match_the_header():
    text = header_text()
    for struct_match in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*(\w+)\s*;", text, flags=re.S):
        name, body = struct_match.group(3), struct_match.group(2)
        fields = []
        for declaration in body.split(";"):
            declaration = " ".join(declaration.split())
            if not declaration:
                continue
            callback = re.search(r"\(\s*\*\s*(\w+)\s*\)", declaration)
            if callback:
                fields.append(callback.group(1))
                continue
            # "double beta1, beta2" declares two fields
            head, *rest = declaration.split(",")
            fields.append(re.search(r"(\w+)\s*$", head).group(1))
            fields.extend(part.strip().lstrip("*") for part in rest)
        assert [f[0] for f in _capi.STRUCTS[name]._fields_] == fields, name


@pytest.mark.parametrize("struct, init", [
    (_capi.smlp_config, "smlp_config_init"),
    (_capi.smlp_optimizer_config, "smlp_optimizer_config_init_sized"),
    (_capi.smlp_train_options, "smlp_train_options_init_sized"),
])
def test_struct_size_equals_what_init_writes(struct, init):
    """What the binding calls fills the whole struct; the _sized functions of the
    structs that grew write what they are given (the C tests check the rest)."""
    import swiftmlp
    value = struct()
    function = getattr(swiftmlp._lib, init)
    if init == "smlp_optimizer_config_init_sized":
        function(ctypes.byref(value), _capi.Optimizer.ADAM, ctypes.sizeof(struct))
    elif init == "smlp_train_options_init_sized":
        function(ctypes.byref(value), ctypes.sizeof(struct))
    else:
        function(ctypes.byref(value))
    assert value.struct_size == ctypes.sizeof(struct)


def test_struct_layouts_match_a_c_compiler(cc, tmp_path):
    """sizeof and every offsetof, as the C compiler sees the header."""
    lines = []
    for name, struct in _capi.STRUCTS.items():
        lines.append(f'    printf("{name} %zu\\n", sizeof({name}));')
        for field, _ in struct._fields_:
            lines.append(f'    printf("{name}.{field} %zu\\n", offsetof({name}, {field}));')
    source = ("#include <stddef.h>\n#include <stdio.h>\n#include \"swiftmlp.h\"\nint main(void) {\n"
              + "\n".join(lines) + "\n    return 0;\n}\n")
    binary = compile_c(cc, source, tmp_path / "layouts", link_library=False)
    output = subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout
    c_values = dict(line.rsplit(" ", 1) for line in output.splitlines())
    for name, struct in _capi.STRUCTS.items():
        assert int(c_values[name]) == ctypes.sizeof(struct), name
        for field, _ in struct._fields_:
            assert int(c_values[f"{name}.{field}"]) == getattr(struct, field).offset, f"{name}.{field}"


def test_declare_names_a_missing_function():
    class Fake:
        pass
    with pytest.raises(AttributeError):
        _capi.declare(Fake())
    assert _capi.missing_symbols(Fake()) == list(_capi.PROTOTYPES)
