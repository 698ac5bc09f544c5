// A function under construction: its locals (named ones for kernel IR
// variables, pooled temporaries for intermediate values) and its body.

import type { DefinedFunction, FunctionType, ValueType } from './encoder.ts';
import type { Instr } from './opcodes.ts';

export class FunctionBuilder {
  readonly body: Instr[] = [];
  private readonly types: ValueType[];
  private readonly names: string[];
  private readonly named = new Map<string, number>();
  private readonly free = new Map<ValueType, number[]>();
  private temps = 0;

  constructor(
    readonly name: string,
    readonly type: FunctionType,
    paramNames: readonly string[] = type.params.map((_, i) => `p${i}`),
  ) {
    this.types = [...type.params];
    this.names = [...paramNames];
    paramNames.forEach((n, i) => this.named.set(n, i));
  }

  emit(...instrs: Instr[]): void {
    for (const instr of instrs) this.body.push(instr);
  }

  comment(text: string): void {
    this.body.push([';;', text]);
  }

  /** The local named `name`, declared on first use. Names are unique per function, whatever their type. */
  local(name: string, t: ValueType): number {
    const known = this.named.get(name);
    if (known !== undefined) {
      if (this.types[known] !== t) throw new Error(`internal: local ${name} is ${this.types[known]}, used as ${t}`);
      return known;
    }
    const index = this.declare(name, t);
    this.named.set(name, index);
    return index;
  }

  /** The index of a named local, if it was declared. */
  lookup(name: string): number | undefined {
    return this.named.get(name);
  }

  /** A temporary local; give it back with `release` once its value is dead. */
  temp(t: ValueType): number {
    const pool = this.free.get(t);
    if (pool !== undefined && pool.length > 0) return pool.pop()!;
    return this.declare(`tmp.${this.temps++}`, t);
  }

  release(...locals: number[]): void {
    for (const index of locals) {
      const t = this.types[index]!;
      const pool = this.free.get(t) ?? [];
      if (!pool.includes(index)) pool.push(index);
      this.free.set(t, pool);
    }
  }

  typeOf(index: number): ValueType {
    return this.types[index]!;
  }

  private declare(name: string, t: ValueType): number {
    this.types.push(t);
    this.names.push(name);
    return this.types.length - 1;
  }

  finish(exportAs?: string): DefinedFunction {
    const paramCount = this.type.params.length;
    return {
      name: this.name,
      type: this.type,
      localNames: this.names,
      locals: this.types.slice(paramCount),
      body: this.body,
      ...(exportAs === undefined ? {} : { exportAs }),
    };
  }
}
