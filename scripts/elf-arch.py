"""Checks that an ELF executable is for the given machine: elf-arch.py FILE aarch64|x86_64."""

import struct
import sys

MACHINES = {183: "aarch64", 62: "x86_64"}


def main() -> int:
    path, wanted = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        header = f.read(20)
    if header[:4] != b"\x7fELF":
        print(f"{path} is not an ELF file")
        return 1
    (machine,) = struct.unpack_from("<H", header, 18)
    found = MACHINES.get(machine, f"machine {machine}")
    if found != wanted:
        print(f"{path} is {found}, not {wanted}")
        return 1
    print(f"{path}: ELF {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
