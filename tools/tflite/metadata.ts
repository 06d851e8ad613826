// The class labels a .tflite file carries in its TFLite metadata: the model's "TFLITE_METADATA"
// buffer holds a ModelMetadata flatbuffer (field slots from TFLite's metadata_schema.fbs, file
// identifier "M001") whose output tensors name their associated files; the file of type
// TENSOR_AXIS_LABELS on the main subgraph's first output is the label file (one label per line),
// packed in the zip appended to the .tflite (appended-zip.ts).
import { FlatTables } from './flat-tables.js';
import { appendedZipEntries } from './appended-zip.js';
import type { TfliteModel } from './reader.js';

/** AssociatedFileType.TENSOR_AXIS_LABELS: one label per index of the tensor's last axis. */
export const TENSOR_AXIS_LABELS = 2;

export interface TfliteMetadataLabels {
  /** The label file the metadata names for the output (absent: the file names none). */
  file?: string;
  /** Its lines (a last empty line dropped), when the appended zip holds it stored. */
  labels?: string[];
  /** Why a named label file gave no labels (not in the zip, compressed, no zip). */
  note?: string;
}

/**
 * The labels of `model`'s output from its metadata, read from `bytes` (the .tflite file the model
 * was read from). A file without metadata, or whose metadata names no label file, gives {}.
 * Malformed metadata or a malformed appended zip: EdgeqError('BAD_MODEL') prefixed with `where`.
 */
export function tfliteMetadataLabels(model: TfliteModel, bytes: Uint8Array, where = ''): TfliteMetadataLabels {
  const entry = model.metadata.find((m) => m.name === 'TFLITE_METADATA');
  if (!entry || entry.data.length === 0) return {};
  const file = outputLabelFile(new FlatTables(entry.data, where, 'the TFLITE_METADATA buffer'));
  if (file === undefined) return {};
  const zip = appendedZipEntries(bytes, where);
  if (!zip) return { file, note: `the metadata names the label file "${file}", but no zip archive is appended to the file` };
  const z = zip.find((e) => e.name === file);
  if (!z) return { file, note: `the metadata names the label file "${file}", which the appended zip (${zip.length} entries) does not hold` };
  if (!z.data) return { file, note: `the label file "${file}" is compressed (zip method ${z.method}); edgeq reads stored entries only` };
  const lines = new TextDecoder('utf-8', { fatal: false }).decode(z.data).split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return { file, labels: lines };
}

/**
 * ModelMetadata: subgraph_metadata (slot 3). SubGraphMetadata: output_tensor_metadata (3).
 * TensorMetadata: associated_files (6). AssociatedFile: name (0), type (byte, 2).
 * The name of the first TENSOR_AXIS_LABELS file of subgraph 0's output 0, or undefined.
 */
function outputLabelFile(f: FlatTables): string | undefined {
  const root = f.table(f.follow(0, 'ModelMetadata root'), 'ModelMetadata');
  const subgraph = f.tables(root, 3, 'ModelMetadata.subgraph_metadata')[0];
  if (!subgraph) return undefined;
  const output = f.tables(subgraph, 3, 'subgraph_metadata[0].output_tensor_metadata')[0];
  if (!output) return undefined;
  const files = f.tables(output, 6, 'output_tensor_metadata[0].associated_files');
  for (const [i, a] of files.entries()) {
    if (f.i8(a, 2) === TENSOR_AXIS_LABELS) return f.string(a, 0, `output_tensor_metadata[0].associated_files[${i}].name`);
  }
  return undefined;
}
