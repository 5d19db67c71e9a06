#!/usr/bin/env node
// kestrel <command> [subcommand] [options]. Each command lives in src/cli/<name>.ts and exports
// `run(argv: string[]): Promise<number>` (the exit code); modules load lazily so `kestrel --help` is instant.
import { isMain } from './is-main.js';

type CommandModule = { run(argv: string[]): Promise<number>; HELP?: string };

/** "command" or "command subcommand" → module under src/cli/, with a one-line summary. */
export const COMMANDS: Record<string, { module: string; summary: string }> = {
  // Each capability adds its own line here.
  'train char-rnn': { module: 'train-char-rnn', summary: 'train a character-level RNN language model on a text file' },
  'eval char-rnn': { module: 'eval-char-rnn', summary: 'validation loss (nats, bits/char) of a char-RNN on the last 10% of a text' },
  serve: { module: 'serve', summary: 'serve the models over HTTP (same as npm start)' },
  models: { module: 'models', summary: 'list the models in the models folder (--json)' },
  'data scenes': { module: 'data-scenes', summary: 'write the fmnist-scenes detection dataset (YOLO layout)' },
  'train backbone': { module: 'train-backbone', summary: 'pre-train the detector backbone as a Fashion-MNIST classifier' },
  'train region-classifier': { module: 'train-region-classifier', summary: 'train the second-stage classifier that names the item in each detected box' },
  'eval region-classifier': { module: 'eval-region-classifier', summary: 'test accuracy of a region classifier on Fashion-MNIST t10k items' },
  'train detector': { module: 'train-detector', summary: 'train the CNN detector (sliding-window, YOLO, SSD heads)' },
  'eval detector': { module: 'eval-detector', summary: 'mAP50, COCO mAP and AP by size of a detector head on a split' },
  detect: { module: 'detect', summary: 'detect objects in image files with a detector model' },
  'eval map': { module: 'eval-map', summary: 'mAP of detection files against ground truth (VOC/COCO)' },
  'train forecaster': { module: 'train-forecaster', summary: 'train an LSTM/GRU/BiLSTM forecaster on a CSV column' },
  'eval forecaster': { module: 'eval-forecaster', summary: 'score a forecaster and the baselines over a test period' },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([k, v]) => `  kestrel ${k.padEnd(22)} ${v.summary}`);
  return ['usage: kestrel <command> [options]', '', ...rows.sort(), '', 'Add --help to a command for its options.'].join('\n');
}

/** `kestrel <group>` alone (train, eval, data): the commands under it, or undefined when it is no group. */
function groupUsage(word: string): string | undefined {
  const rows = Object.entries(COMMANDS).filter(([k]) => k.startsWith(`${word} `));
  if (!rows.length) return undefined;
  return [`usage: kestrel ${word} <${rows.map(([k]) => k.split(' ')[1]).join('|')}> [options]`, '', ...rows.map(([k, v]) => `  kestrel ${k.padEnd(22)} ${v.summary}`).sort()].join('\n');
}

/** node:util parseArgs's complaint about the command line, shortened to one line naming the culprit. */
function argumentError(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) return undefined;
  const message = (err as Error).message;
  const option = /^Unknown option '([^']+)'/.exec(message);
  if (option) return `unknown option ${option[1]}`;
  const positional = /^Unexpected argument '([^']*)'/.exec(message);
  if (positional) return `unexpected argument "${positional[1]}"`;
  return message.split('\n')[0].replace(/\.\s.*$/, '');
}

/**
 * Runs one command; resolves to its exit code. A command line that names no command, an unknown one,
 * or an option or argument the command does not take gets one line naming the problem, then the usage
 * on stderr, and exit code 2.
 */
export async function main(argv: string[]): Promise<number> {
  const two = argv.slice(0, 2).join(' ');
  const key = COMMANDS[two] ? two : argv[0];
  if (key === '--help' || key === '-h' || key === 'help') {
    console.log(usage());
    return 0;
  }
  if (!key) {
    console.error(usage());
    return 2;
  }
  const cmd = COMMANDS[key];
  if (!cmd) {
    const group = groupUsage(argv[0]);
    if (group && argv.length === 1) {
      console.error(group);
      return 2;
    }
    if (group && (argv[1] === '--help' || argv[1] === '-h')) {
      console.log(group);
      return 0;
    }
    const what = key.startsWith('-') ? `unknown option ${key}` : `unknown command "${group && argv[1] ? `${argv[0]} ${argv[1]}` : argv[0]}"`;
    console.error(`kestrel: ${what}\n\n${group ?? usage()}`);
    return 2;
  }
  const mod = (await import(new URL(`./cli/${cmd.module}.js`, import.meta.url).href)) as CommandModule;
  try {
    return await mod.run(argv.slice(key.split(' ').length));
  } catch (err) {
    const problem = argumentError(err);
    if (problem === undefined) throw err;
    console.error(`kestrel ${key}: ${problem}\n\n${mod.HELP ?? `Run kestrel ${key} --help for its options.`}`);
    return 2;
  }
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`kestrel: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
