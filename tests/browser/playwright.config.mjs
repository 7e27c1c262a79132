// Browser tests of the facility page (issue 15): Debian's chromium driven
// by Playwright (its own browser download is not used), against the real
// binary started by server.mjs.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.mjs/,
  timeout: 60000,
  workers: 1,
  reporter: [['list']],
  outputDir: '../../build/browser/results',
  use: {
    headless: true,
    launchOptions: { executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] },
    locale: 'ja-JP',
  },
});
