#!/usr/bin/env python3
"""Regenerate crates/nasbo-core/src/nb201_index.bin from an NB201 table.

NAS-Bench-201's official `arch_index` is the row order of the benchmark's own files, which is
not a formula of the cell. nasbo embeds that order as 15,625 little-endian u16 values: entry i
is the base-5 code of the cell whose official index is i (code = sum op[k] * 5**(5-k), edges in
the arch string's order 0->1, 0->2, 1->2, 0->3, 1->3, 2->3; ops 0 none, 1 skip_connect,
2 nor_conv_1x1, 3 nor_conv_3x3, 4 avg_pool_3x3).

usage: python3 datasets/nb201/make_index.py TABLE.csv[.gz] crates/nasbo-core/src/nb201_index.bin
"""
import csv, gzip, struct, sys

def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    opener = gzip.open if src.endswith(".gz") else open
    codes = {}
    with opener(src, "rt") as f:
        for row in csv.DictReader(f):
            ops = [int(row[k]) for k in ("op_0_1", "op_0_2", "op_1_2", "op_0_3", "op_1_3", "op_2_3")]
            code = 0
            for op in ops:
                code = code * 5 + op
            codes[int(row["arch_index"])] = code
    if sorted(codes) != list(range(15625)) or len(set(codes.values())) != 15625:
        sys.exit(f"{src}: expected every arch_index 0..15624 exactly once, each a distinct cell")
    with open(dst, "wb") as out:
        out.write(b"".join(struct.pack("<H", codes[i]) for i in range(15625)))

if __name__ == "__main__":
    main()
