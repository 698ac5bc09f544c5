// The WebAssembly instructions that slope emits: mnemonic, opcode bytes and
// the kind of immediate operands that follow. Opcodes are those of the core
// binary format (WebAssembly 2.0), its non-trapping float-to-int extension
// (0xFC prefix) and the fixed-width SIMD extension (0xFD prefix, LEB128
// sub-opcode). Both the binary encoder and the WAT printer read this table,
// so the two forms cannot disagree about an instruction.

/**
 * Immediate kinds: `local` (a local index), `func` (a function name resolved
 * when the module is assembled), `memarg` (alignment as a power of two, then
 * a byte offset), `label` (a relative branch depth), `lane` (a lane index),
 * `block` (a block type: always empty in slope), `v128` (a lane shape and
 * four or two lane values) and the numeric constants.
 */
export type ImmediateKind = 'none' | 'local' | 'func' | 'memarg' | 'label' | 'lane' | 'block' | 'i32' | 'f32' | 'f64' | 'v128';

export interface OpcodeInfo {
  bytes: readonly number[];
  imm: ImmediateKind;
}

const table = new Map<string, OpcodeInfo>();

function define(imm: ImmediateKind, prefix: number | undefined, entries: Record<string, number>): void {
  for (const [name, code] of Object.entries(entries)) {
    const bytes = prefix === undefined ? [code] : [prefix, ...unsignedLeb(code)];
    table.set(name, { bytes, imm });
  }
}

/** LEB128 bytes of a non-negative integer. */
export function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

// Control and parametric instructions.
define('none', undefined, { unreachable: 0x00, nop: 0x01, else: 0x05, end: 0x0b, return: 0x0f, drop: 0x1a, select: 0x1b });
define('block', undefined, { block: 0x02, loop: 0x03, if: 0x04 });
define('label', undefined, { br: 0x0c, br_if: 0x0d });
define('func', undefined, { call: 0x10 });
define('local', undefined, { 'local.get': 0x20, 'local.set': 0x21, 'local.tee': 0x22 });

// Memory.
define('memarg', undefined, {
  'i32.load': 0x28, 'f32.load': 0x2a, 'f64.load': 0x2b, 'i32.load8_u': 0x2d,
  'i32.store': 0x36, 'f32.store': 0x38, 'f64.store': 0x39, 'i32.store8': 0x3a,
});

// Constants.
define('i32', undefined, { 'i32.const': 0x41 });
define('f32', undefined, { 'f32.const': 0x43 });
define('f64', undefined, { 'f64.const': 0x44 });

// Numeric instructions without immediates.
define('none', undefined, {
  'i32.eqz': 0x45, 'i32.eq': 0x46, 'i32.ne': 0x47, 'i32.lt_s': 0x48, 'i32.lt_u': 0x49, 'i32.gt_s': 0x4a, 'i32.gt_u': 0x4b,
  'i32.le_s': 0x4c, 'i32.le_u': 0x4d, 'i32.ge_s': 0x4e, 'i32.ge_u': 0x4f,
  'f32.eq': 0x5b, 'f32.ne': 0x5c, 'f32.lt': 0x5d, 'f32.gt': 0x5e, 'f32.le': 0x5f, 'f32.ge': 0x60,
  'f64.eq': 0x61, 'f64.ne': 0x62, 'f64.lt': 0x63, 'f64.gt': 0x64, 'f64.le': 0x65, 'f64.ge': 0x66,
  'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.mul': 0x6c, 'i32.div_s': 0x6d, 'i32.div_u': 0x6e, 'i32.rem_s': 0x6f, 'i32.rem_u': 0x70,
  'i32.and': 0x71, 'i32.or': 0x72, 'i32.xor': 0x73, 'i32.shl': 0x74, 'i32.shr_s': 0x75, 'i32.shr_u': 0x76,
  'f32.abs': 0x8b, 'f32.neg': 0x8c, 'f32.ceil': 0x8d, 'f32.floor': 0x8e, 'f32.trunc': 0x8f, 'f32.nearest': 0x90, 'f32.sqrt': 0x91,
  'f32.add': 0x92, 'f32.sub': 0x93, 'f32.mul': 0x94, 'f32.div': 0x95, 'f32.min': 0x96, 'f32.max': 0x97, 'f32.copysign': 0x98,
  'f64.abs': 0x99, 'f64.neg': 0x9a, 'f64.ceil': 0x9b, 'f64.floor': 0x9c, 'f64.trunc': 0x9d, 'f64.nearest': 0x9e, 'f64.sqrt': 0x9f,
  'f64.add': 0xa0, 'f64.sub': 0xa1, 'f64.mul': 0xa2, 'f64.div': 0xa3, 'f64.min': 0xa4, 'f64.max': 0xa5, 'f64.copysign': 0xa6,
  'f32.convert_i32_s': 0xb2, 'f32.demote_f64': 0xb6, 'f64.convert_i32_s': 0xb7, 'f64.promote_f32': 0xbb,
  'i32.reinterpret_f32': 0xbc, 'f32.reinterpret_i32': 0xbe,
});

// Non-trapping float-to-int conversions: out-of-range values saturate and NaN gives 0.
define('none', 0xfc, { 'i32.trunc_sat_f32_s': 0x00, 'i32.trunc_sat_f64_s': 0x02 });

// Fixed-width SIMD.
define('memarg', 0xfd, { 'v128.load': 0x00, 'v128.load32_splat': 0x09, 'v128.load64_splat': 0x0a, 'v128.store': 0x0b });
define('v128', 0xfd, { 'v128.const': 0x0c });
define('lane', 0xfd, {
  'i32x4.extract_lane': 0x1b, 'i32x4.replace_lane': 0x1c, 'f32x4.extract_lane': 0x1f, 'f32x4.replace_lane': 0x20,
  'f64x2.extract_lane': 0x21, 'f64x2.replace_lane': 0x22,
});
define('none', 0xfd, {
  'i32x4.splat': 0x11, 'f32x4.splat': 0x13, 'f64x2.splat': 0x14,
  'i32x4.eq': 0x37, 'i32x4.ne': 0x38, 'i32x4.lt_s': 0x39, 'i32x4.gt_s': 0x3b, 'i32x4.le_s': 0x3d, 'i32x4.ge_s': 0x3f,
  'f32x4.eq': 0x41, 'f32x4.ne': 0x42, 'f32x4.lt': 0x43, 'f32x4.gt': 0x44, 'f32x4.le': 0x45, 'f32x4.ge': 0x46,
  'f64x2.eq': 0x47, 'f64x2.ne': 0x48, 'f64x2.lt': 0x49, 'f64x2.gt': 0x4a, 'f64x2.le': 0x4b, 'f64x2.ge': 0x4c,
  'v128.not': 0x4d, 'v128.and': 0x4e, 'v128.andnot': 0x4f, 'v128.or': 0x50, 'v128.xor': 0x51, 'v128.bitselect': 0x52,
  'v128.any_true': 0x53,
  'f32x4.ceil': 0x67, 'f32x4.floor': 0x68, 'f32x4.trunc': 0x69, 'f32x4.nearest': 0x6a,
  'f64x2.floor': 0x75, 'f64x2.nearest': 0x94,
  'i32x4.abs': 0xa0, 'i32x4.neg': 0xa1, 'i32x4.shl': 0xab, 'i32x4.shr_s': 0xac, 'i32x4.shr_u': 0xad,
  'i32x4.add': 0xae, 'i32x4.sub': 0xb1, 'i32x4.mul': 0xb5, 'i32x4.min_s': 0xb6, 'i32x4.max_s': 0xb8,
  'f32x4.abs': 0xe0, 'f32x4.neg': 0xe1, 'f32x4.sqrt': 0xe3, 'f32x4.add': 0xe4, 'f32x4.sub': 0xe5, 'f32x4.mul': 0xe6,
  'f32x4.div': 0xe7, 'f32x4.min': 0xe8, 'f32x4.max': 0xe9,
  'f64x2.abs': 0xec, 'f64x2.neg': 0xed, 'f64x2.sqrt': 0xef, 'f64x2.add': 0xf0, 'f64x2.sub': 0xf1, 'f64x2.mul': 0xf2,
  'f64x2.div': 0xf3, 'f64x2.min': 0xf4, 'f64x2.max': 0xf5,
  'i32x4.trunc_sat_f32x4_s': 0xf8, 'f32x4.convert_i32x4_s': 0xfa,
  // Relaxed SIMD; emitted only after a start-up probe finds it.
  'f32x4.relaxed_madd': 0x105,
});

/** The opcode bytes and immediate kind of a mnemonic; throws for a mnemonic slope does not emit. */
export function opcode(name: string): OpcodeInfo {
  const info = table.get(name);
  if (info === undefined) throw new Error(`internal: unknown WebAssembly instruction ${JSON.stringify(name)}`);
  return info;
}

/**
 * One instruction: the mnemonic, then its immediates. A `memarg` is
 * [alignment log2, offset]; a `v128` is ['f32x4' | 'i32x4', four lane values]
 * or ['f64x2', two lane values]; a `func` is the callee's name. The pseudo
 * instruction ';;' carries a comment for the WAT text and encodes to nothing.
 */
export type Instr = readonly [op: string, ...immediates: (number | string)[]];
