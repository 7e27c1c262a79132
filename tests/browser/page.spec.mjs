// The facility page in a real browser (issue 15).
import { test, expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { startServer } from './server.mjs';

const XSS = '<img src=x onerror=alert(1)>';
const shots = 'build/browser';
mkdirSync(shots, { recursive: true });

async function noSeriousAxe(page, what) {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${what}: ${v.id} ${v.nodes.map((n) => n.target).join(' ')}`)).toEqual([]);
}

test.describe('without keys (--no-auth)', () => {
  let srv;
  test.beforeAll(async () => {
    srv = await startServer({ persons: [{ person_id: 'xss-1', facility_id: 'demo-care-home', display_name: XSS, mynumber_card: 'none' }] });
  });
  test.afterAll(() => srv.stop());

  test('the demo worklist, names as text, every screen accessible', async ({ page }) => {
    let dialogs = 0;
    page.on('dialog', (d) => { dialogs++; d.dismiss(); });
    const other = [];
    page.on('request', (r) => { if (!r.url().startsWith(srv.url)) other.push(r.url()); });
    await page.goto(srv.url + '/?facility_id=demo-care-home');
    await expect(page.locator('table.worklist')).toBeVisible();
    await expect(page.getByText('佐藤 一郎')).toBeVisible();
    await expect(page.getByText(XSS, { exact: true })).toBeVisible();
    await expect(page.locator('.counts')).toContainText('申請が必要');
    await page.screenshot({ path: `${shots}/worklist-ja.png`, fullPage: false });
    await noSeriousAxe(page, 'worklist');
    await page.getByText(XSS, { exact: true }).click();
    await expect(page.locator('h2').first()).toContainText(XSS);
    await noSeriousAxe(page, 'person');
    await page.goto(srv.url + '/?facility_id=demo-care-home#/person/demo-002');
    await expect(page.getByText('記1').first()).toBeVisible();
    await page.screenshot({ path: `${shots}/person-ja.png`, fullPage: false });
    for (const h of ['#/check', '#/import', '#/print']) {
      await page.goto(srv.url + '/?facility_id=demo-care-home' + h);
      await page.waitForSelector('main:not([aria-busy])');
      await noSeriousAxe(page, h);
    }
    expect(dialogs).toBe(0);
    expect(other).toEqual([]);
  });

  test('360 px wide, and English', async ({ page }) => {
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(srv.url + '/?facility_id=demo-care-home');
    await expect(page.locator('table.worklist')).toBeVisible();
    await page.screenshot({ path: `${shots}/worklist-360.png`, fullPage: true });
    await page.getByRole('button', { name: 'English' }).click();
    await expect(page.locator('.counts')).toContainText('must apply');
  });

  test('check without storing', async ({ page }) => {
    await page.goto(srv.url + '/#/check');
    await page.locator('#f-mynumber_card').selectOption('none');
    await page.getByRole('button', { name: '判定する' }).click();
    await expect(page.locator('.decision')).toContainText('職権交付');
  });

  test('print to PDF has the residents and deadlines', async ({ page }) => {
    await page.goto(srv.url + '/?facility_id=demo-care-home#/print');
    await expect(page.locator('.print-doc h2')).toHaveText('資格確認書の申請が必要な方');
    await page.emulateMedia({ media: 'print' });
    await page.pdf({ path: `${shots}/print.pdf`, format: 'A4' });
    const text = execFileSync('pdftotext', ['-layout', `${shots}/print.pdf`, '-']).toString();
    expect(text).toContain('資格確認書の申請が必要な方');
    expect(text).toContain('佐藤');
    expect(text).toContain('demo-care-home');
    expect(text).not.toContain('印刷する'); // no buttons on paper
  });
});

test.describe('with keys', () => {
  let srv;
  test.beforeAll(async () => { srv = await startServer({ noAuth: false }); });
  test.afterAll(() => srv.stop());

  async function signIn(page, role) {
    await page.goto(srv.url + '/?facility_id=demo-care-home');
    await page.locator('#key').fill(srv.keys[role]);
    await page.getByRole('button', { name: 'サインイン' }).click();
    await expect(page.locator('table.worklist')).toBeVisible();
  }

  test('a reader sees no edit controls', async ({ page }) => {
    await signIn(page, 'reader');
    await page.goto(srv.url + '/?facility_id=demo-care-home#/person/demo-002');
    await expect(page.getByText('記1').first()).toBeVisible();
    await expect(page.getByRole('button', { name: '保存' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: '削除' })).toHaveCount(0);
    const st = await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]);
    expect(st).toEqual([0, 0, '']); // the key is nowhere in reach of script
  });

  test('a writer records a check; a second tab gets the 412 message', async ({ browser }) => {
    const ctx = await browser.newContext();
    const a = await ctx.newPage();
    await signIn(a, 'writer');
    const b = await ctx.newPage();
    for (const p of [a, b]) {
      await p.goto(srv.url + '/?facility_id=demo-care-home#/person/demo-003');
      await expect(p.getByRole('button', { name: '保存' })).toBeVisible();
    }
    await a.locator('#f-certificate_status').selectOption('applied');
    await a.getByRole('button', { name: '保存' }).click();
    await expect(a.locator('#main').getByText('保存しました。')).toBeVisible();
    await b.locator('#f-mynumber_card').selectOption('lost');
    await b.getByRole('button', { name: '保存' }).click();
    await expect(b.getByRole('alert')).toContainText('ほかの方がこの間に');
    await ctx.close();
  });

  test('sign out: the cookie no longer works', async ({ page, context }) => {
    await signIn(page, 'reader');
    const cookie = (await context.cookies()).find((c) => c.name === 'shikaku_session');
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Strict');
    await page.getByRole('button', { name: 'サインアウト' }).click();
    await expect(page.locator('#key')).toBeVisible();
    const r = await page.request.get(srv.url + '/v1/persons', { headers: { Cookie: `shikaku_session=${cookie.value}` } });
    expect(r.status()).toBe(401);
  });

  test('a revoked key\'s session stops working', async ({ page }) => {
    await signIn(page, 'admin');
    const id = srv.keys.admin.split('_')[1];
    execFileSync(srv.bin, ['key', 'revoke', '--db', srv.db, id]);
    await page.goto(srv.url + '/?facility_id=demo-care-home#/print');
    await expect(page.locator('#key')).toBeVisible();
  });
});
