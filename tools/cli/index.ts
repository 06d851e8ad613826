// The `edgeq` command line (Node only): synth, quantize, import, dequantize, run, bench, inspect.
import { Command, InvalidArgumentError, Option } from 'commander';
import { EdgeqError } from 'edgeq';
import { CALIBRATION_METHODS } from '../quantize/histogram.js';
import { packageVersion } from './versions.js';

function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`"${value}" is not an integer`);
  return n;
}
function num(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`"${value}" is not a number`);
  return n;
}
function triple(value: string): [number, number, number] {
  const parts = value.split(',').map(Number);
  if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p))) throw new InvalidArgumentError(`"${value}" is not three comma-separated numbers`);
  return parts as [number, number, number];
}
/** --crop: one side (a square crop) or HxW (e.g. 96x160). */
function cropArg(value: string): number | [number, number] {
  const parts = value.split('x').map(Number);
  if (!parts.every((p) => Number.isInteger(p) && p >= 1) || (parts.length !== 1 && parts.length !== 2)) throw new InvalidArgumentError(`"${value}" is not a side or HxW in pixels (224, 96x160)`);
  return parts.length === 1 ? parts[0]! : [parts[0]!, parts[1]!];
}
function intList(value: string): number[] {
  const parts = value.split(',').map(Number);
  if (parts.some((p) => !Number.isInteger(p) || p < 1)) throw new InvalidArgumentError(`"${value}" is not a comma-separated list of positive integers`);
  return parts;
}

export function buildProgram(): Command {
  const program = new Command('edgeq')
    .description('int8 CNN inference in WebAssembly SIMD, and the quantizer that makes its models')
    .version(versionLine(), '-V, --version', 'print the edgeq-tools and runtime edgeq versions')
    // commander's own errors (unknown option, missing argument) in the same one-line form; set
    // before the commands are added so that they inherit it.
    .configureOutput({ outputError: (str, write) => write(`edgeq: ${str.replace(/^error: /, '').trim()} [BAD_OPTION]\n`) })
    .showHelpAfterError()
    .addHelpText('after', '\nErrors print one line, `edgeq: <message> [CODE]`; set EDGEQ_DEBUG=1 to print their stack too.');

  program.command('synth')
    .description('build an embedded model (real architecture, seeded synthetic weights) as ONNX')
    .argument('<arch>', 'architecture (resnet50, mobilenetv2, mobilenetv3-small)')
    .requiredOption('-o, --output <file>', 'output .onnx file')
    .option('--seed <n>', 'weight seed', int, 0)
    .addOption(new Option('--style <style>', 'graph spelling (resnet50)').choices(['torchvision', 'zoo']).default('torchvision'))
    .action(async (arch: string, opts) => (await import('./synth.js')).synthCommand(arch, opts));

  program.command('quantize')
    .description('post-training int8 quantization of an fp32 ONNX CNN to a packed .edgeq model (and a QDQ ONNX model)')
    .argument('<model>', 'fp32 ONNX model')
    .requiredOption('-o, --output <file>', 'output .edgeq file')
    .option('--qdq <file>', 'also write a QDQ ONNX model with the same integers (runs in onnxruntime-web)')
    .option('--calib <dir>', 'calibration image folder (JPEG/PNG; labels.tsv optional)')
    .option('--calib-count <n>', 'images taken from --calib, chosen by --seed', int, 100)
    .option('--seed <n>', 'seed of the calibration subset', int, 0)
    .option('--calib-synthetic <n>', 'calibrate on N synthetic images instead of a folder', int)
    .addOption(new Option('--preprocess <preset>', 'preprocessing preset stored in the model; required with --calib (or all of --mean, --std, --resize, --crop); imagenet for synthetic calibration. Crop and resize follow the model\'s input side unless --crop is given').choices(['imagenet', 'unit']))
    .option('--mean <r,g,b>', 'override the preset mean', triple)
    .option('--std <r,g,b>', 'override the preset std', triple)
    .option('--resize <n>', 'override the preset resize (short side)', int)
    .option('--crop <n|HxW>', 'override the preset centre crop: a side, or height x width (e.g. 96x160)', cropArg)
    .addOption(new Option('--method <method>', 'calibration method (default mse)').choices([...CALIBRATION_METHODS]))
    .option('--percentile <p>', 'percentile for --method percentile', num, 99.99)
    .option('--no-bias-correction', 'keep the rounded bias (default: each channel\'s mean weight-rounding error, measured on the calibration images, is removed from its bias)')
    .option('--no-fuse-residual', 'keep residual adds as separate ops (default: fused into the producing conv)')
    .option('--no-gptq', 'round every weight to its nearest int8 level (default: Hessian-aware rounding, GPTQ, for convs with K <= 1152: each layer\'s int8 weights minimize its output error on 32 calibration images; README)')
    .option('--input-bits <bits>', 'bits of the graph input: 8, 12 or auto (default: 12 with --activations 12; else auto = 12 when the preprocessing normalizes each channel differently, per-channel mean/std, which one uint8 grid cannot hold: the ResNet-50 trunk gains 0.9 dB; 8 otherwise); 12 costs 2x the input\'s bytes')
    .option('--no-smooth', 'no activation smoothing (default, for 8-bit activations: per conv pair, the share of the per-channel range spread moved into the next conv\'s weights that minimizes the predicted quantization noise, cross-validated on two halves of the calibration images; README)')
    .addOption(new Option('--equalize [method]', 'cross-layer equalization before calibration: weights (the default method: balance conv1 rows against conv2 columns) or activations (balance calibrated per-channel ranges). Off by default: it measured worse on darknet-tiny and level on the ResNet-50 trunk (README)').choices(['weights', 'activations']).preset('weights'))
    .addOption(new Option('--activations <bits>', 'activation bits: 8 (uint8), 12 (uint12 everywhere but the input; fails naming a layer whose int32 accumulator could overflow) or auto (12 bits where a per-tensor sensitivity analysis on 8 calibration images says they pay)').choices(['8', '12', 'auto']).default('8'))
    .option('--labels <file>', 'class names stored in the model (one per line, or index<TAB>synset<TAB>name)')
    .option('--report [file]', 'print the per-layer report on held-back calibration images (and write it as JSON to file)')
    .option('--report-count <n>', 'held-back inputs used by the report', int, 20)
    .option('--sensitivity', 'with --report: also rank layers by the output error when only that layer is quantized')
    .option('--threads <n>', 'onnxruntime-web threads used for calibration', int, 1)
    .action(async (model: string, opts) => (await import('./quantize.js')).quantizeCommand(model, opts));

  program.command('import')
    .description('convert an already quantized ONNX model (QOperator or QDQ int8) or TFLite uint8 model to .edgeq with its own integers, scales and zero points (no calibration)')
    .argument('<model>', 'quantized ONNX or .tflite model')
    .requiredOption('-o, --output <file>', 'output .edgeq file')
    .addOption(new Option('--preprocess <preset>', 'preprocessing preset stored in the model (crop and resize follow the model\'s input side unless --crop is given)').choices(['imagenet', 'unit']))
    .option('--mean <r,g,b>', 'override the preset mean', triple)
    .option('--std <r,g,b>', 'override the preset std', triple)
    .option('--resize <n>', 'override the preset resize (short side)', int)
    .option('--crop <n|HxW>', 'override the preset centre crop: a side, or height x width (e.g. 96x160)', cropArg)
    .option('--labels <file>', 'class names stored in the model (one per line, or index<TAB>synset<TAB>name)')
    .option('--logits', 'TFLite: leave a final SOFTMAX out and return the logits (default: the model returns probabilities)')
    .action(async (model: string, opts) => (await import('./import.js')).importCommand(model, opts));

  program.command('dequantize')
    .description('write the fp32 ONNX equivalent of a QOperator int8 model (dequantized weights and biases, float ops), e.g. to requantize it with edgeq quantize')
    .argument('<model>', 'QOperator int8 ONNX model')
    .requiredOption('-o, --output <file>', 'output fp32 .onnx file')
    .addOption(new Option('--clip <which>', 'Clip after each op: activations (where a zero point 0 means ReLU / ReLU6) or ranges (every quantized range)').choices(['activations', 'ranges']).default('activations'))
    .action(async (model: string, opts) => (await import('./import.js')).dequantizeCommand(model, opts));

  program.command('run')
    .description('classify images with an .edgeq model: the top classes of its first output (or of --output), and a summary of every output when it has several')
    .argument('<model>', '.edgeq model')
    .argument('<images...>', 'JPEG or PNG files, or folders (every JPEG/PNG in them)')
    .option('-k, --top <k>', 'classes to print', int, 5)
    .addOption(new Option('--backend <backend>', 'kernel build').choices(['auto', 'simd', 'scalar']).default('auto'))
    .option('--threads <n>', 'threads of the session (default: the runtime\'s choice)', int)
    .option('--batch <n>', 'images per run() call', int, 1)
    .option('--output <name>', 'the output whose values are the class scores (default: the model\'s first output)')
    .option('--json', 'print JSON')
    .action(async (model: string, images: string[], opts) => (await import('./run.js')).runCommand(model, images, opts));

  program.command('bench')
    .description('benchmark edgeq int8 against onnxruntime-web fp32 and int8 (default: the embedded ResNet-50)')
    .option('--model <file>', 'fp32 ONNX model, or an embedded one: resnet50 (the default), mobilenetv2, mobilenetv3-small')
    .option('--images <dir>', 'labelled images for accuracy (with --labels)')
    .option('--labels <file>', 'labels.tsv: file<TAB>index[<TAB>synset<TAB>name]')
    .addOption(new Option('--preprocess <preset>', 'preprocessing preset, required with --images (default for synthetic inputs: imagenet)').choices(['imagenet', 'unit']))
    .option('--runs <n>', 'timed runs per engine', int, 20)
    .option('--inputs <n>', 'inputs compared for accuracy', int, 200)
    .option('--calib-count <n>', 'calibration images', int, 100)
    .option('--threads <list>', 'thread counts, e.g. 1,2', intList, [1])
    .option('--repeat <n>', 'repeat the whole comparison n times (separate processes) and print the spread of the ratios', int, 1)
    .option('--json <file>', 'write every figure as JSON')
    .option('--html <file>', 'write a self-contained HTML report: latency distributions per engine and thread count, ratios, scaling, accuracy, edgeq\'s time per op')
    .addOption(new Option('--runtime <name>', 'where the engines run: node, or deno (edgeq\'s relaxed-SIMD kernels where exact; edgeq and onnxruntime-web both in Deno)').choices(['node', 'deno']).default('node'))
    .option('--deno <path>', 'the Deno binary for --runtime deno (default: the deno npm package, else deno on PATH)')
    .action(async (opts) => (await import('./bench.js')).benchCommand(opts));

  program.command('inspect')
    .description('print the contents of an .edgeq or .onnx model')
    .argument('<model>', '.edgeq or .onnx file')
    .option('--json', 'print JSON')
    .option('--check', 'exit non-zero when the quantizer would reject the .onnx model')
    .action(async (model: string, opts) => (await import('./inspect.js')).inspectCommand(model, opts));

  program.command('serve')
    .description('serve the example web page and the runtime on a loopback address, with the COOP/COEP headers that enable threads')
    .option('--model <file>', '.edgeq model the page loads (a .tflite file is imported on the fly)')
    .option('--port <n>', 'port (0 picks a free one)', int, 8080)
    .option('--host <host>', 'loopback address (127.0.0.1, localhost or ::1)', '127.0.0.1')
    .option('--dir <dir>', 'folder served at / (default: the package\'s examples/web)')
    .option('--no-isolate', 'omit the cross-origin isolation headers')
    .argument('[model]', 'the model, as --model')
    .action(async (model: string | undefined, opts) => (await import('./serve.js')).serveCommand({ ...opts, model: opts.model ?? model }));

  return program;
}

/** `edgeq-tools x.y.z (runtime edgeq x.y.z)`: the lab's version and the runtime's it runs on. */
export function versionLine(): string {
  return `edgeq-tools ${packageVersion('edgeq-tools')} (runtime edgeq ${packageVersion('edgeq')})`;
}

/**
 * One line for any error that reaches the top: `edgeq: <message> [CODE]`, CODE being the EdgeqError
 * code, the Node error code (ENOENT, EACCES, ...; the message names the path) or INTERNAL. No stack,
 * unless EDGEQ_DEBUG is set.
 */
export function errorLine(err: unknown): string {
  if (err instanceof EdgeqError) return `edgeq: ${err.message} [${err.code}]`;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) {
    const reason = (e.message ?? '').replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    return `edgeq: ${e.syscall ? `${e.syscall} ` : ''}${e.path ?? ''}${e.path ? ': ' : ''}${reason} [${e.code}]`;
  }
  const message = e instanceof Error ? e.message : String(err);
  return `edgeq: ${message.split('\n')[0]} [INTERNAL]`;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    console.error(errorLine(err));
    if (process.env.EDGEQ_DEBUG && err instanceof Error) console.error(err.stack);
    process.exitCode = 1;
  }
}

export { readInput } from './paths.js';
