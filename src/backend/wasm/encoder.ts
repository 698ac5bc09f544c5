// The WebAssembly binary encoder: turns a module description (one imported
// memory, imported and defined functions, exports) into the bytes of a
// module, with no toolchain involved. Sections are written in the order the
// binary format requires: type, import, function, export, code, then the
// custom "name" section that gives functions and locals readable names in
// stack traces and profilers.

import type { Instr } from './opcodes.ts';
import { opcode } from './opcodes.ts';

export type ValueType = 'i32' | 'f32' | 'f64' | 'v128';

export interface FunctionType {
  params: readonly ValueType[];
  results: readonly ValueType[];
}

export interface ImportedFunction {
  /** The name that `call` instructions use. */
  name: string;
  module: string;
  field: string;
  type: FunctionType;
}

export interface DefinedFunction {
  name: string;
  type: FunctionType;
  /** Names of the params, then of the locals. */
  localNames: readonly string[];
  /** Types of the locals declared after the params. */
  locals: readonly ValueType[];
  body: readonly Instr[];
  /** Export name, when the host calls the function. */
  exportAs?: string;
}

export interface MemoryImport {
  module: string;
  field: string;
  /** Size in 64 KiB pages. */
  minPages: number;
  maxPages?: number;
  shared?: boolean;
}

export interface ModuleDescription {
  memory: MemoryImport;
  imports: readonly ImportedFunction[];
  functions: readonly DefinedFunction[];
}

const VALUE_TYPE_CODES: Record<ValueType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

const utf8 = new TextEncoder();
const floatBytes = new DataView(new ArrayBuffer(16));

/** A growable byte buffer with the primitive encodings of the binary format. */
export class ByteWriter {
  private bytes = new Uint8Array(256);
  length = 0;

  private reserve(count: number): void {
    if (this.length + count <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + count));
    grown.set(this.bytes);
    this.bytes = grown;
  }

  byte(b: number): void {
    this.reserve(1);
    this.bytes[this.length++] = b & 0xff;
  }

  raw(bytes: ArrayLike<number>): void {
    this.reserve(bytes.length);
    for (let i = 0; i < bytes.length; i++) this.bytes[this.length++] = bytes[i]! & 0xff;
  }

  u32(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new Error(`internal: ${value} is not a u32`);
    let v = value >>> 0;
    do {
      const low = v & 0x7f;
      v >>>= 7;
      this.byte(v === 0 ? low : low | 0x80);
    } while (v !== 0);
  }

  /** Signed LEB128 of a 32-bit integer. */
  s32(value: number): void {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) throw new Error(`internal: ${value} is not an i32`);
    let v = value | 0;
    for (;;) {
      const byte = v & 0x7f;
      v >>= 7;
      const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
      this.byte(done ? byte : byte | 0x80);
      if (done) return;
    }
  }

  f32(value: number): void {
    floatBytes.setFloat32(0, value, true);
    for (let i = 0; i < 4; i++) this.byte(floatBytes.getUint8(i));
  }

  f64(value: number): void {
    floatBytes.setFloat64(0, value, true);
    for (let i = 0; i < 8; i++) this.byte(floatBytes.getUint8(i));
  }

  name(text: string): void {
    const bytes = utf8.encode(text);
    this.u32(bytes.length);
    this.raw(bytes);
  }

  /** Writes a length-prefixed vector of items. */
  vector<T>(items: readonly T[], write: (item: T, index: number) => void): void {
    this.u32(items.length);
    items.forEach(write);
  }

  /** Writes a section: id, then the byte length of what `write` produces, then those bytes. */
  section(id: number, write: (w: ByteWriter) => void): void {
    const inner = new ByteWriter();
    write(inner);
    this.byte(id);
    this.u32(inner.length);
    this.append(inner);
  }

  /** Appends another writer's bytes. */
  append(other: ByteWriter): void {
    this.reserve(other.length);
    this.bytes.set(other.bytes.subarray(0, other.length), this.length);
    this.length += other.length;
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

function typeKey(type: FunctionType): string {
  return `${type.params.join(',')}->${type.results.join(',')}`;
}

/** Encodes one instruction; `functionIndex` resolves callee names. */
function encodeInstruction(w: ByteWriter, instr: Instr, functionIndex: (name: string) => number): void {
  const op = instr[0];
  if (op === ';;') return;
  const info = opcode(op);
  w.raw(info.bytes);
  const number = (i: number): number => {
    const v = instr[i + 1];
    if (typeof v !== 'number') throw new Error(`internal: ${op} needs a number as immediate ${i}, got ${JSON.stringify(v)}`);
    return v;
  };
  switch (info.imm) {
    case 'none':
      return;
    case 'local':
    case 'label':
      w.u32(number(0));
      return;
    case 'lane':
      w.byte(number(0));
      return;
    case 'func':
      w.u32(functionIndex(String(instr[1])));
      return;
    case 'block':
      w.byte(0x40);
      return;
    case 'memarg':
      w.u32(number(0));
      w.u32(number(1));
      return;
    case 'i32':
      w.s32(number(0));
      return;
    case 'f32':
      w.f32(number(0));
      return;
    case 'f64':
      w.f64(number(0));
      return;
    case 'v128': {
      const shape = instr[1];
      const lanes = shape === 'f64x2' ? 2 : 4;
      for (let i = 0; i < lanes; i++) {
        const v = number(i + 1);
        if (shape === 'f32x4') floatBytes.setFloat32(i * 4, v, true);
        else if (shape === 'i32x4') floatBytes.setInt32(i * 4, v, true);
        else if (shape === 'f64x2') floatBytes.setFloat64(i * 8, v, true);
        else throw new Error(`internal: unknown v128 lane shape ${JSON.stringify(shape)}`);
      }
      for (let i = 0; i < 16; i++) w.byte(floatBytes.getUint8(i));
      return;
    }
  }
}

/** Groups consecutive locals of one type, as the code section declares them. */
function localGroups(locals: readonly ValueType[]): [number, ValueType][] {
  const groups: [number, ValueType][] = [];
  for (const t of locals) {
    const last = groups[groups.length - 1];
    if (last !== undefined && last[1] === t) last[0]++;
    else groups.push([1, t]);
  }
  return groups;
}

/** Encodes a module. Function indices put imports first, then defined functions in order. */
export function encodeModule(module: ModuleDescription): Uint8Array {
  const types: FunctionType[] = [];
  const typeIndex = new Map<string, number>();
  const internType = (t: FunctionType): number => {
    const key = typeKey(t);
    let index = typeIndex.get(key);
    if (index === undefined) {
      index = types.length;
      types.push(t);
      typeIndex.set(key, index);
    }
    return index;
  };
  const functionIndices = new Map<string, number>();
  [...module.imports, ...module.functions].forEach((f, i) => {
    if (functionIndices.has(f.name)) throw new Error(`internal: two WebAssembly functions are named ${f.name}`);
    functionIndices.set(f.name, i);
  });
  const functionIndex = (name: string): number => {
    const index = functionIndices.get(name);
    if (index === undefined) throw new Error(`internal: call to undefined WebAssembly function ${name}`);
    return index;
  };
  const importTypes = module.imports.map((f) => internType(f.type));
  const definedTypes = module.functions.map((f) => internType(f.type));

  const w = new ByteWriter();
  w.raw([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

  w.section(1, (s) => s.vector(types, (t) => {
    s.byte(0x60);
    s.vector(t.params, (p) => s.byte(VALUE_TYPE_CODES[p]));
    s.vector(t.results, (r) => s.byte(VALUE_TYPE_CODES[r]));
  }));

  w.section(2, (s) => {
    s.u32(module.imports.length + 1);
    const m = module.memory;
    s.name(m.module);
    s.name(m.field);
    s.byte(0x02);
    if (m.shared) {
      s.byte(0x03);
      s.u32(m.minPages);
      s.u32(m.maxPages ?? m.minPages);
    } else if (m.maxPages !== undefined) {
      s.byte(0x01);
      s.u32(m.minPages);
      s.u32(m.maxPages);
    } else {
      s.byte(0x00);
      s.u32(m.minPages);
    }
    module.imports.forEach((f, i) => {
      s.name(f.module);
      s.name(f.field);
      s.byte(0x00);
      s.u32(importTypes[i]!);
    });
  });

  w.section(3, (s) => s.vector(definedTypes, (t) => s.u32(t)));

  const exported = module.functions.filter((f) => f.exportAs !== undefined);
  w.section(7, (s) => s.vector(exported, (f) => {
    s.name(f.exportAs!);
    s.byte(0x00);
    s.u32(functionIndex(f.name));
  }));

  w.section(10, (s) => s.vector(module.functions, (f) => {
    const body = new ByteWriter();
    body.vector(localGroups(f.locals), ([count, t]) => {
      body.u32(count);
      body.byte(VALUE_TYPE_CODES[t]);
    });
    for (const instr of f.body) encodeInstruction(body, instr, functionIndex);
    body.byte(0x0b);
    s.u32(body.length);
    s.append(body);
  }));

  w.section(0, (s) => {
    s.name('name');
    const all = [...module.imports.map((f) => f.name), ...module.functions.map((f) => f.name)];
    s.byte(1);
    const functionNames = new ByteWriter();
    functionNames.vector(all, (name, i) => {
      functionNames.u32(i);
      functionNames.name(name);
    });
    s.u32(functionNames.length);
    s.append(functionNames);
    s.byte(2);
    const localNames = new ByteWriter();
    localNames.vector(module.functions, (f, i) => {
      localNames.u32(module.imports.length + i);
      localNames.vector(f.localNames, (name, j) => {
        localNames.u32(j);
        localNames.name(name);
      });
    });
    s.u32(localNames.length);
    s.append(localNames);
  });

  return w.finish();
}
