import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent, type RefObject } from 'react'
import { draftSize, shortId, type AuthorView, type FeedId, type MessageId, type PostDraft, type PostView } from '@hearsay/client-api'
import { useClient } from '../app/connection.tsx'
import { useAction } from '../app/hooks.ts'
import { useSession } from '../app/session.tsx'
import { ErrorNote, Markdown, fileToBase64 } from './common.tsx'

export interface ComposerProps {
  /** Set for a reply: the thread's root and what it answers. */
  reply?: { root: MessageId; branch: MessageId[] }
  placeholder?: string
  /** Set for a private post: who may read it (the author is added by the peer). */
  recps?: FeedId[]
  /** What the Post button says (not for a reply). */
  submitLabel?: string
  onPosted(post: PostView): void
}

/** Past this share of the limit the meter warns, so the limit is never a surprise. */
const WARN_AT = 0.9
const MENTION_BEFORE_CARET = /(?:^|\s)@([^\s@[\]()]{1,40})$/

export function Composer({ reply, placeholder = 'What’s happening?', recps, submitLabel = 'Post', onPosted }: ComposerProps) {
  const client = useClient()
  const { me } = useSession()
  const [text, setText] = useState('')
  const [warningOn, setWarningOn] = useState(false)
  const [contentWarning, setContentWarning] = useState('')
  const [preview, setPreview] = useState(false)
  const { busy, error, setError, run } = useAction()
  const [known, setKnown] = useState<Record<FeedId, AuthorView>>({})
  const [attached, setAttached] = useState<string[]>([])
  const textarea = useRef<HTMLTextAreaElement>(null)
  const fileInput = useRef<HTMLInputElement>(null)
  const ids = useId()

  const draft: PostDraft = useMemo(
    () => ({
      text,
      ...(reply ? { root: reply.root, branch: reply.branch } : {}),
      ...(warningOn && contentWarning.trim() ? { contentWarning } : {}),
      ...(recps ? { recps } : {}),
    }),
    [text, reply, warningOn, contentWarning, recps],
  )
  const size = useMemo(() => {
    if (text.trim() === '') return null
    try {
      return draftSize(draft, me)
    } catch {
      return null
    }
  }, [draft, me, text])
  const over = size !== null && size.length > size.limit
  const near = size !== null && !over && size.length > size.limit * WARN_AT

  const mention = useMentionSearch(text, textarea)

  // Where the caret was last: the textarea is remounted after a preview, losing its selection.
  const caret = useRef<number | null>(null)
  const rememberCaret = () => {
    caret.current = textarea.current?.selectionStart ?? null
  }
  const insertAtCaret = (insert: (before: string) => string, replaceBefore = 0) => {
    const at = Math.min(caret.current ?? text.length, text.length)
    const before = text.slice(0, at - replaceBefore)
    const inserted = insert(before)
    setText(before + inserted + text.slice(at))
    const after = before.length + inserted.length
    caret.current = after
    requestAnimationFrame(() => {
      textarea.current?.focus()
      textarea.current?.setSelectionRange(after, after)
    })
  }

  const pickMention = (person: AuthorView) => {
    if (!mention.query) return
    const label = person.name ?? person.id.slice(1, 9)
    setKnown((all) => ({ ...all, [person.id]: person }))
    insertAtCaret(() => `[@${label}](${person.id}) `, mention.query.length + 1)
    mention.dismiss()
  }

  const attach = async (file: File) => {
    setError(null)
    try {
      const added = await client.addBlob({ base64: await fileToBase64(file), mimeType: file.type || 'application/octet-stream' })
      const alt = file.name.replace(/[[\]]/g, '')
      insertAtCaret((before) => `${before === '' || before.endsWith('\n') ? '' : '\n'}![${alt}](${added.id})\n`)
      setAttached((names) => [...names, alt])
    } catch (err) {
      setError(err as Error)
    }
  }

  const publish = async () => {
    if (!size || over || busy) return
    await run(async () => {
      const post = await client.publishPost(draft)
      setText('')
      caret.current = null
      setAttached([])
      setContentWarning('')
      setWarningOn(false)
      setPreview(false)
      onPosted(post)
    })
  }

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (mention.results.length > 0) {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault()
        mention.move(event.key === 'ArrowDown' ? 1 : -1)
        return
      }
      if (event.key === 'Enter' || event.key === 'Tab') {
        event.preventDefault()
        const person = mention.results[mention.active]
        if (person) pickMention(person)
        return
      }
      if (event.key === 'Escape') {
        mention.dismiss()
        return
      }
    }
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault()
      void publish()
    }
  }

  const listboxId = `${ids}-mentions`
  const meterId = `${ids}-meter`
  return (
    <form
      className="composer"
      aria-label={reply ? 'Reply' : 'New post'}
      onSubmit={(event) => {
        event.preventDefault()
        void publish()
      }}
    >
      <div className="composer-tabs" role="group" aria-label="Editor mode">
        <button type="button" aria-pressed={!preview} onClick={() => setPreview(false)}>
          Write
        </button>
        <button type="button" aria-pressed={preview} onClick={() => setPreview(true)} disabled={text.trim() === ''}>
          Preview
        </button>
      </div>
      {preview ? (
        <div className="composer-preview" aria-label="Preview">
          <Markdown text={text} authors={known} />
        </div>
      ) : (
        <div className="composer-input">
          <textarea
            ref={textarea}
            value={text}
            placeholder={placeholder}
            aria-label={reply ? 'Write a reply' : 'Write a post'}
            aria-describedby={meterId}
            aria-autocomplete="list"
            aria-controls={mention.results.length > 0 ? listboxId : undefined}
            aria-activedescendant={mention.results.length > 0 ? `${listboxId}-${mention.active}` : undefined}
            rows={reply ? 3 : 4}
            onChange={(event) => {
              setText(event.target.value)
              caret.current = event.target.selectionStart
            }}
            onSelect={() => {
              rememberCaret()
              mention.update()
            }}
            onKeyDown={onKeyDown}
          />
          {mention.results.length > 0 && (
            <ul className="mention-list" role="listbox" id={listboxId} aria-label="People to mention">
              {mention.results.map((person, index) => (
                <li
                  key={person.id}
                  id={`${listboxId}-${index}`}
                  role="option"
                  aria-selected={index === mention.active}
                  onMouseDown={(event) => {
                    event.preventDefault()
                    pickMention(person)
                  }}
                >
                  {person.name ?? shortId(person.id)} <small>{shortId(person.id)}</small>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {warningOn && (
        <input
          className="composer-cw"
          value={contentWarning}
          maxLength={200}
          placeholder="Content warning shown before the post"
          aria-label="Content warning"
          onChange={(event) => setContentWarning(event.target.value)}
        />
      )}
      <div className="composer-bar">
        <button type="button" aria-pressed={warningOn} onClick={() => setWarningOn((on) => !on)}>
          CW
        </button>
        <button type="button" onClick={() => fileInput.current?.click()} aria-label="Attach an image">
          Image
        </button>
        <input
          ref={fileInput}
          type="file"
          accept="image/png,image/jpeg,image/gif,image/webp"
          hidden
          aria-label="Image file"
          onChange={(event) => {
            const file = event.target.files?.[0]
            event.target.value = ''
            if (file) void attach(file)
          }}
        />
        {attached.length > 0 && (
          <span className="attached" role="status">
            Attached {attached.join(', ')}
          </span>
        )}
        <SizeMeter id={meterId} length={size?.length ?? 0} limit={size?.limit ?? 8192} over={over} near={near} />
        <button type="submit" className="primary" disabled={!size || over || busy}>
          {busy ? 'Posting…' : reply ? 'Reply' : submitLabel}
        </button>
      </div>
      {error && <ErrorNote error={error} />}
    </form>
  )
}

function SizeMeter({ id, length, limit, over, near }: { id: string; length: number; limit: number; over: boolean; near: boolean }) {
  const message = over
    ? `Too long by ${length - limit} — the network refuses posts over ${limit} once signed. Shorten it to post.`
    : near
      ? `${limit - length} left before the ${limit} limit`
      : ''
  return (
    <span className={`size-meter${over ? ' over' : near ? ' near' : ''}`} id={id}>
      <meter min={0} max={limit} low={limit * WARN_AT} high={limit} optimum={0} value={Math.min(length, limit)} aria-label="Post size" />
      <span>
        {length} / {limit}
      </span>
      {message && (
        <span className="size-message" role={over ? 'alert' : 'status'}>
          {message}
        </span>
      )}
    </span>
  )
}

/** `@name` being typed before the caret, and the people findPeople suggests for it. */
function useMentionSearch(text: string, textarea: RefObject<HTMLTextAreaElement | null>) {
  const client = useClient()
  const [query, setQuery] = useState<string | null>(null)
  const [results, setResults] = useState<AuthorView[]>([])
  const [active, setActive] = useState(0)

  const update = () => {
    const caret = textarea.current?.selectionStart ?? text.length
    setQuery(MENTION_BEFORE_CARET.exec(text.slice(0, caret))?.[1] ?? null)
  }
  useEffect(update, [text])

  useEffect(() => {
    if (!query) return setResults([])
    let current = true
    client.findPeople(query, { limit: 6 }).then(
      (people) => {
        if (!current) return
        setResults(people)
        setActive(0)
      },
      () => current && setResults([]),
    )
    return () => {
      current = false
    }
  }, [client, query])

  return {
    query,
    results,
    active,
    update,
    move: (step: number) => setActive((index) => (index + step + results.length) % results.length),
    dismiss: () => {
      setQuery(null)
      setResults([])
    },
  }
}
