/** BTF type kinds (include/uapi/linux/btf.h); FLOAT, DECL_TAG, TYPE_TAG and ENUM64 came in 5.13–6.0. */
export const BTF_KIND = {
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

export type BtfKind = (typeof BTF_KIND)[keyof typeof BTF_KIND];

export const BTF_KIND_NAMES: Record<number, string> = Object.fromEntries(Object.entries(BTF_KIND).map(([k, v]) => [v, k]));
