// Source ops: inputs fed at run time, params with an initializer, constants.
// Their values come from outside the graph, so `evaluate` is never called for
// them; the interpreter and the runtime read feeds, params and attrs.

import { AttributeError, DTypeError, InternalError } from '../errors.ts';
import { isDType, isFloat } from '../graph/dtype.ts';
import type { InitSpec } from '../graph/init.ts';
import { sizeOf } from '../graph/shape.ts';
import type { OpDef, OpSite } from './def.ts';
import { describeValue, integerList, representable } from './check.ts';

const INIT_KINDS = ['zeros', 'ones', 'constant', 'heNormal', 'heUniform', 'glorotUniform', 'randomizedAsymmetric', 'normal', 'uniform', 'values'] as const;

function sourceType(site: OpSite, raw: { shape?: unknown; dtype?: unknown }) {
  const shape = integerList(site, 'shape', raw.shape, 0);
  if (!isDType(raw.dtype)) throw site.error(AttributeError, `dtype must be float32, float64, int32 or bool, got ${describeValue(raw.dtype)}`);
  return { shape, dtype: raw.dtype };
}

function checkInit(site: OpSite, init: unknown, shape: readonly number[]): InitSpec {
  const size = sizeOf(shape);
  const spec = init as InitSpec | undefined;
  if (spec === undefined || !(INIT_KINDS as readonly string[]).includes(spec.kind)) {
    throw site.error(AttributeError, `init must be one of ${INIT_KINDS.join(', ')}, got ${describeValue((spec as { kind?: unknown })?.kind ?? spec)}`);
  }
  if ('seed' in spec && !Number.isInteger(spec.seed)) throw site.error(AttributeError, `init seed must be an integer, got ${describeValue(spec.seed)}`);
  if (spec.kind === 'randomizedAsymmetric' && shape.length < 2) {
    throw site.error(AttributeError, `init 'randomizedAsymmetric' needs a weight of rank 2 or more ([fanIn, units]), got shape [${shape.join(',')}]; put a bias in the last row of a [fanIn + 1, units] param`);
  }
  if (spec.kind === 'values') {
    if (!(spec.values instanceof Float64Array) || spec.values.length !== size) {
      throw site.error(AttributeError, `init values must be a Float64Array of ${size} elements`);
    }
  }
  const numbers = Object.entries(spec).filter(([k]) => k !== 'kind' && k !== 'values');
  for (const [k, v] of numbers) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw site.error(AttributeError, `init ${k} must be a finite number, got ${describeValue(v)}`);
  }
  return spec;
}

function notEvaluated(op: string): never {
  throw new InternalError(`${op} has no evaluate rule; its value comes from feeds, params or attributes`);
}

export const sourceOps: { input: OpDef<'input'>; param: OpDef<'param'>; constant: OpDef<'constant'> } = {
  input: {
    arity: 0,
    attrs: (raw, site) => sourceType(site, raw),
    infer: (_inputs, attrs) => attrs,
    evaluate: () => notEvaluated('input'),
    grad: () => [],
  },
  param: {
    arity: 0,
    attrs: (raw, site) => {
      const type = sourceType(site, raw);
      if (!isFloat(type.dtype)) throw site.error(DTypeError, `a param must be float32 or float64, got ${type.dtype}; use a constant or an input for ${type.dtype} data`);
      return { ...type, init: checkInit(site, raw.init, type.shape) };
    },
    infer: (_inputs, attrs) => ({ shape: attrs.shape, dtype: attrs.dtype }),
    evaluate: () => notEvaluated('param'),
    grad: () => [],
  },
  constant: {
    arity: 0,
    attrs: (raw, site) => {
      const type = sourceType(site, raw);
      if (!(raw.value instanceof Float64Array)) throw site.error(AttributeError, 'value must be a Float64Array');
      if (raw.value.length !== sizeOf(type.shape)) {
        throw site.error(AttributeError, `value has ${raw.value.length} elements but shape [${type.shape.join(',')}] needs ${sizeOf(type.shape)}`);
      }
      const invalid = raw.value.findIndex((v) => !representable(type.dtype, v));
      if (invalid !== -1) {
        throw site.error(AttributeError, `value[${invalid}] = ${describeValue(raw.value[invalid])} cannot be stored as ${type.dtype}; use ${type.dtype === 'bool' ? '0 or 1' : 'int32 integers'}`);
      }
      return { ...type, value: raw.value };
    },
    infer: (_inputs, attrs) => ({ shape: attrs.shape, dtype: attrs.dtype }),
    evaluate: (_inputs, attrs) => attrs.value,
    grad: () => [],
  },
};
