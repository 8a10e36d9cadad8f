import { spawn } from 'node:child_process';

/**
 * Runs a bash script of the test harness: its progress (stderr) goes to ours, so CI logs show
 * installs and start-ups as they happen; its answer (stdout) and exit code come back.
 */
export function runScript(script: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout }));
  });
}
