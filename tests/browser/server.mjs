// Starts build/shikakud on a free loopback port with a temporary database:
// demo residents (scripts/demo_persons.py), keys made with `key create`.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = process.env.SHIKAKUD || join(top, 'build', 'shikakud');

export async function startServer({ noAuth = true, extra = [], persons = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'shikaku-browser-'));
  const db = join(dir, 'x.db');
  const demo = execFileSync('python3', [join(top, 'scripts', 'demo_persons.py')]);
  const more = persons.map((p) => JSON.stringify(p)).join('\n');
  execFileSync(bin, ['import', '--db', db, '--format', 'ndjson', '-'], { input: Buffer.concat([demo, Buffer.from('\n' + more + '\n')]) });
  const keys = {};
  if (!noAuth) for (const role of ['reader', 'writer', 'admin'])
    keys[role] = execFileSync(bin, ['key', 'create', '--db', db, '--role', role]).toString().split('\n')[0].trim();
  const args = ['serve', '--listen', '127.0.0.1:0', '--db', db, ...extra];
  if (noAuth) args.push('--no-auth');
  const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error('no listening line: ' + buf)), 15000);
    proc.stderr.on('data', (d) => {
      buf += d.toString();
      const m = buf.match(/"listening".*?"port":\s*(\d+)/) || buf.match(/"port":\s*(\d+)/);
      if (m) { clearTimeout(t); resolve(Number(m[1])); }
    });
  });
  return { url: `http://127.0.0.1:${port}`, port, keys, db, bin, stop: () => proc.kill('SIGTERM') };
}
