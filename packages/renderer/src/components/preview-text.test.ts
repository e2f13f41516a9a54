// One-line previews (notifications, the inbox) show what a post says, not its markdown.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { previewText } from './common.tsx'

test('previewText keeps link and image labels and hashtags, drops markup and line breaks', () => {
  const feed = '@Yfl6noUn14Au80DGBFGFCApRWxvn2e48bJKSzbXiTJk=.ed25519'
  assert.equal(previewText(`Thanks [@Alice](${feed})!`), 'Thanks @Alice!')
  assert.equal(previewText('**bold** and _soft_\n\n> quoted `code` #gardening'), 'bold and soft quoted code #gardening')
  assert.equal(previewText('![a cat](&abc.sha256) photo'), 'a cat photo')
  assert.equal(previewText('x'.repeat(300)).length, 140)
  assert.equal(previewText('## Heading'), 'Heading')
})
