/**
 * The AWS SDK's Node-version notice, once and on one line. The SDK calls process.emitWarning with a
 * nine-line "NodeVersionSupportWarning" (once per copy of @aws-sdk/core: the CommonJS and ESM builds each
 * keep their own flag); a person running the command line needs one line, a script none
 * (AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true, the SDK's own switch).
 */
const MARK = 'NodeVersionSupportWarning';

export function suppressSdkNodeNotice(print: (line: string) => void = (l) => process.stderr.write(l)): void {
  const original = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  let said = false;
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    const text = warning instanceof Error ? warning.message : String(warning);
    if (!text.includes(MARK)) return original(warning, ...rest);
    if (said || process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === 'true') return;
    said = true;
    const need = /node >=\s*(\d+)/.exec(text)?.[1] ?? '22';
    print(
      `note: AWS SDK releases after early January 2027 need Node >= ${need} (this is ${process.version}); ` +
        'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true hides this\n',
    );
  }) as typeof process.emitWarning;
}
