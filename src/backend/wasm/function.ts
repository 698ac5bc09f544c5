// A function under construction: its locals (named ones for kernel IR
// variables, pooled temporaries for intermediate values) and its body.

import type { DefinedFunction, FunctionType, ValueType } from './encoder.ts';
import type { Instr } from './opcodes.ts';

export class FunctionBuilder {
  readonly body: Instr[] = [];
  private readonly types: ValueType[];
  private readonly names: string[];
  /** Locals by the name they were declared with; several when an IR name is declared again with another type or while shadowed. */
  private readonly named = new Map<string, number[]>();
  private readonly free = new Map<ValueType, number[]>();
  private temps = 0;

  constructor(
    readonly name: string,
    readonly type: FunctionType,
    paramNames: readonly string[] = type.params.map((_, i) => `p${i}`),
  ) {
    this.types = [...type.params];
    this.names = [...paramNames];
    paramNames.forEach((n, i) => this.named.set(n, [i]));
  }

  emit(...instrs: Instr[]): void {
    for (const instr of instrs) this.body.push(instr);
  }

  comment(text: string): void {
    this.body.push([';;', text]);
  }

  /** Returns the local named `name`, declaring it on first use; one name has one type. */
  local(name: string, t: ValueType): number {
    const known = this.named.get(name)?.[0];
    if (known !== undefined) {
      if (this.types[known] !== t) throw new Error(`internal: local ${name} is ${this.types[known]}, used as ${t}`);
      return known;
    }
    const index = this.declare(name, t);
    this.named.set(name, [index]);
    return index;
  }

  /**
   * Returns a local for an IR variable: one declared earlier under the same
   * name and type and not in `busy`, the locals still visible under that
   * name. Otherwise it declares a new one, whose WAT name gets a numeric
   * suffix when the name is taken.
   */
  variableLocal(name: string, t: ValueType, busy: ReadonlySet<number>): number {
    const known = this.named.get(name) ?? [];
    const free = known.find((index) => this.types[index] === t && !busy.has(index));
    if (free !== undefined) return free;
    const index = this.declare(known.length === 0 ? name : `${name}.${known.length}`, t);
    this.named.set(name, [...known, index]);
    return index;
  }

  /** Returns a temporary local; give it back with `release` once its value is dead. */
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
