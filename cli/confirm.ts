/** The "Apply N actions? [y/N]" question. Only "y" or "yes" says yes; end of input or Ctrl-C says no. */
import { createInterface } from 'node:readline';
import type { Output } from './io.js';

export function confirm(question: string, input: NodeJS.ReadableStream, output: Output): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, output: output as NodeJS.WritableStream });
    let settled = false;
    const answer = (yes: boolean) => {
      if (settled) return;
      settled = true;
      rl.close();
      resolve(yes);
    };
    // Without a listener, readline only pauses on Ctrl-C and the question would hang.
    rl.on('SIGINT', () => {
      output.write('\n');
      answer(false);
    });
    rl.on('close', () => answer(false));
    rl.question(question, (text) => answer(/^y(es)?$/i.test(text.trim())));
  });
}
