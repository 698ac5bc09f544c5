// A minimal ONNX model writer: just enough of the protobuf wire format to
// build small float32 graphs in code, so the onnxruntime-web peer needs no
// model files and no protobuf dependency. Field numbers follow onnx.proto in
// the onnx/onnx repository (ModelProto, GraphProto, NodeProto,
// AttributeProto, ValueInfoProto, TypeProto, TensorShapeProto,
// OperatorSetIdProto). The models declare IR version 8.

/** ONNX TensorProto.DataType value of float32. */
const FLOAT = 1;

/** AttributeProto.AttributeType values used here. */
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_STRING = 3;
const ATTRIBUTE_INTS = 7;

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** A node attribute of one of the four types this writer encodes. */
export type OnnxAttribute =
  | { name: string; int: number }
  | { name: string; float: number }
  | { name: string; string: string }
  | { name: string; ints: readonly number[] };

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: readonly OnnxAttribute[];
}

/** A graph input or output: a float32 tensor of a fixed shape. */
export interface OnnxValue {
  name: string;
  shape: readonly number[];
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  inputs: readonly OnnxValue[];
  outputs: readonly OnnxValue[];
  /** Opset of the default ai.onnx domain. */
  opset: number;
}

/** Appends protobuf fields to a growing byte list. */
class ProtoWriter {
  private readonly bytes: number[] = [];

  private varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`onnx-model: varint must be a non-negative safe integer, got ${value}`);
    }
    let rest = value;
    while (rest >= 0x80) {
      this.bytes.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    this.bytes.push(rest);
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  int(field: number, value: number): this {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const buffer = new DataView(new ArrayBuffer(4));
    buffer.setFloat32(0, value, true);
    for (let i = 0; i < 4; i++) this.bytes.push(buffer.getUint8(i));
    return this;
  }

  bytesField(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(value.length);
    for (const byte of value) this.bytes.push(byte);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytesField(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (writer: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytesField(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

function writeAttribute(writer: ProtoWriter, attribute: OnnxAttribute): void {
  writer.string(1, attribute.name);
  if ('int' in attribute) {
    writer.int(20, ATTRIBUTE_INT).int(3, attribute.int);
  } else if ('float' in attribute) {
    writer.int(20, ATTRIBUTE_FLOAT).float(2, attribute.float);
  } else if ('string' in attribute) {
    writer.int(20, ATTRIBUTE_STRING).string(4, attribute.string);
  } else {
    // Protobuf parsers accept repeated int64 fields packed or unpacked, so this writes the simpler unpacked form.
    writer.int(20, ATTRIBUTE_INTS);
    for (const value of attribute.ints) writer.int(8, value);
  }
}

function writeValueInfo(writer: ProtoWriter, value: OnnxValue): void {
  writer.string(1, value.name);
  writer.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, FLOAT);
      tensor.message(2, (shape) => {
        for (const size of value.shape) shape.message(1, (dim) => dim.int(1, size));
      });
    }),
  );
}

/** Encodes a float32 graph as a serialized ONNX ModelProto. */
export function encodeOnnxModel(graph: OnnxGraph): Uint8Array {
  const model = new ProtoWriter();
  model.int(1, 8); // ir_version
  model.string(2, 'slope-bench'); // producer_name
  model.message(8, (opset) => opset.string(1, '').int(2, graph.opset));
  model.message(7, (g) => {
    for (const node of graph.nodes) {
      g.message(1, (n) => {
        for (const input of node.inputs) n.string(1, input);
        for (const output of node.outputs) n.string(2, output);
        n.string(4, node.opType);
        for (const attribute of node.attributes ?? []) n.message(5, (a) => writeAttribute(a, attribute));
      });
    }
    g.string(2, graph.name);
    for (const input of graph.inputs) g.message(11, (v) => writeValueInfo(v, input));
    for (const output of graph.outputs) g.message(12, (v) => writeValueInfo(v, output));
  });
  return model.finish();
}
