// What a person does in the renderer, as steps the e2e tests share.
import type { Page } from 'playwright-core'

/** A 1×1 PNG, for avatar uploads. */
export const TINY_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64')

/** First run: keep the new identity, pick a name (and avatar), land in the app. */
export async function onboard(page: Page, name: string, avatar?: Buffer): Promise<void> {
  await page.getByRole('button', { name: 'Start with this new identity' }).click()
  await page.getByLabel('Your name').fill(name)
  if (avatar) {
    await page.getByLabel('Avatar (optional)').setInputFiles({ name: 'avatar.png', mimeType: 'image/png', buffer: avatar })
    await page.getByAltText('Avatar preview').waitFor()
  }
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).waitFor()
}

/** Goes to a page of the app by its hash route. */
export async function goTo(page: Page, hash: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`)
}

export const profileHash = (id: string) => `#/profile/${encodeURIComponent(id)}`

/** Waits for a post to be on the home feed, taking live arrivals from the "new posts" bar. */
export async function waitForHomePost(page: Page, text: string): Promise<void> {
  const post = page.getByRole('article').filter({ hasText: text })
  const bar = page.getByRole('button', { name: /new posts?$/ })
  while (!(await post.isVisible())) {
    await post.or(bar).first().waitFor()
    if (await bar.isVisible()) await bar.click()
  }
}

export async function follow(page: Page, id: string): Promise<void> {
  await goTo(page, profileHash(id))
  await page.getByRole('button', { name: 'Follow', exact: true }).click()
  await page.getByRole('button', { name: 'Unfollow' }).waitFor()
}
