/**
 * ReviewBoard reads for the page (contracts/interfaces/IReviewBoard.sol): verified-buyer reviews
 * of a product or a merchant with their edits, replies and votes, ranked exactly as
 * src/o2ochain/loop/_reviews.py ranks them, and merchant profiles. Texts and profiles come from the
 * content store and count only when they hash to what the chain holds. The hash of a review's text
 * (of each version) and of a reply is only in a log: when the index gave that log, the chain is
 * asked to confirm it at its block (LogReader.confirm), and a text whose log it does not confirm is
 * shown as unconfirmed, not as the author's. A profile's hash is the board's (merchantProfile).
 */
import { decodeEventLog, getAbiItem, type AbiEvent, type Address, type Hex, type PublicClient } from 'viem'
import { reviewBoardAbi } from './abi'
import { contractOf, type Config } from './config'
import { t } from '../i18n'
import { logReader, type EventLog, type LogReader, type RawFact } from './logs'

export const SUBJECT_PRODUCT = 1
export const SUBJECT_MERCHANT = 2
/** contracts/Types.sol: FOLD_REPORTS and FOLD_MARGIN, to say why a review is folded. */
export const FOLD_REPORTS = 3
export const FOLD_MARGIN = 3

const postedEvent = getAbiItem({ abi: reviewBoardAbi, name: 'ReviewPosted' }) as AbiEvent
const editedEvent = getAbiItem({ abi: reviewBoardAbi, name: 'ReviewEdited' }) as AbiEvent
const repliedEvent = getAbiItem({ abi: reviewBoardAbi, name: 'ReviewReplied' }) as AbiEvent
const profileEvent = getAbiItem({ abi: reviewBoardAbi, name: 'MerchantProfileSet' }) as AbiEvent

export { canonicalJson, ContentStore, UNCONFIRMED, type ContentCheck, type JsonObject, type JsonValue } from './content'
import { ContentStore, UNCONFIRMED, type ContentCheck } from './content'

// ------------------------------------------------------------------------------------------------
// Ranking: a port of src/o2ochain/loop/_reviews.py `wilson` and `usefulness`
// ------------------------------------------------------------------------------------------------

/** Lower bound of the Wilson score interval (95%): how useful a review is, given its votes. */
export function wilson(positive: number, total: number, z = 1.96): number {
  if (total <= 0) return 0
  const p = positive / total
  const centre = p + (z * z) / (2 * total)
  const spread = z * Math.sqrt((p * (1 - p)) / total + (z * z) / (4 * total * total))
  return (centre - spread) / (1 + (z * z) / total)
}

/**
 * The ranking score of a review at chain time `now`, exactly src/o2ochain/loop/_reviews.py `usefulness`:
 *
 *     usefulness = 2 x wilson(helpful, helpful + not helpful)     # what readers said, 0..1
 *                + 1 x content                                   # min(words / 80, 1) x 0.7 + 0.3 if photos
 *                + 1 x 0.5 ** (age in days / 90)                 # recency, halving every 90 days
 *                + 1 x intact                                    # the text is available and matches its hash
 *
 * Words are counted as Python's `str.split()` does (runs of white space).
 */
export function usefulness(review: Pick<Review, 'helpful' | 'notHelpful' | 'text' | 'photos' | 'postedAt'>, now: number): number {
  const votes = wilson(review.helpful, review.helpful + review.notHelpful)
  const words = review.text ? review.text.split(/\s+/).filter((w) => w.length > 0).length : 0
  const content = Math.min(words / 80, 1) * 0.7 + (review.photos ? 0.3 : 0)
  const ageDays = Math.max(0, now - review.postedAt) / 86_400
  const recency = 0.5 ** (ageDays / 90)
  const intact = review.text !== undefined ? 1 : 0
  return 2 * votes + content + recency + intact
}

/** loop/_reviews.py's order: folded last, then the most useful, then the newer, then by review id. */
export function compareReviews(a: Review, b: Review): number {
  if (a.folded !== b.folded) return a.folded ? 1 : -1
  if (a.score !== b.score) return b.score - a.score
  if (a.postedAt !== b.postedAt) return b.postedAt - a.postedAt
  return a.id.toLowerCase() < b.id.toLowerCase() ? -1 : a.id.toLowerCase() > b.id.toLowerCase() ? 1 : 0
}

// ------------------------------------------------------------------------------------------------
// Reviews
// ------------------------------------------------------------------------------------------------

export interface ReviewVersion {
  version: number
  rating: number
  contentHash: Hex
  /** Whether the chain confirms the log of this version (always, for a log read from the node). */
  confirmed: boolean
}

export interface Reply {
  by: Address
  /** The merchant channel the reply was made for. */
  merchant: number
  contentHash: Hex
  /** `unconfirmed` when the chain does not confirm the reply's log. */
  content: ContentCheck
  text?: string
}

export interface Review {
  id: Hex
  author: Address
  subject: 'product' | 'merchant'
  gtin: bigint
  /** The channel the purchase was made on; 0 for a review of an item claimed at first sale. */
  merchant: number
  /** Of the latest version. */
  rating: number
  version: number
  contentHash: Hex
  ticket: Hex
  postedAt: number
  helpful: number
  notHelpful: number
  reports: number
  folded: boolean
  /**
   * Whether the review counts as verified now (ReviewBoard.counts): a claimed item's review and a
   * merchant review always do; a product review on a purchase only while the product's brand
   * authorises the purchase's retailer. Readers see only the reviews that count.
   */
  counts: boolean
  /** The latest version's content as the store gave it, checked against `contentHash` (`unconfirmed`: the chain does not confirm the log that gave the hash). */
  content: ContentCheck
  /** The text, only when the content is intact. */
  text?: string
  photos: number
  replies: Reply[]
  /** Every version, oldest first (the last one is the one shown). */
  versions: ReviewVersion[]
  score: number
}

interface PostedArgs {
  review: Hex
  gtin: bigint
  merchant: number
  author: Address
  subject: number
  rating: number
  contentHash: Hex
  uri: string
  ticket: Hex
}
interface EditedArgs {
  review: Hex
  version: number
  rating: number
  contentHash: Hex
}
interface RepliedArgs {
  review: Hex
  merchant: number
  by: Address
  contentHash: Hex
}
interface ProfileArgs {
  uri: string
}
interface ReviewView {
  posted: boolean
  author: Address
  rating: number
  version: number
  helpful: bigint
  notHelpful: bigint
  reports: bigint
  folded: boolean
}
interface ProfileView {
  retailer: number
  profileHash: Hex
  gln: bigint
  latitudeE6: number
  longitudeE6: number
  updatedAt: number
}

export interface MerchantProfile {
  merchant: number
  retailer: number
  profileHash: Hex
  /** The URI the profile was published at (logged only). */
  uri?: string
  /** GLN, 13 digits, when set. */
  gln?: string
  latitude: number
  longitude: number
  /** 0 when no profile was ever set. */
  updatedAt: number
  content?: ContentCheck
}

/**
 * What a review's, an edit's or a reply's log states of its text: the content hash and URI, with
 * an edit's version and a reply's author (the rest is the board's view, or a topic). Undefined
 * for a log that is none of these.
 */
function contentFact(log: RawFact): string | undefined {
  try {
    const { args } = decodeEventLog({ abi: reviewBoardAbi, topics: log.topics as [Hex, ...Hex[]], data: log.data, strict: true }) as unknown as {
      args: Record<string, unknown>
    }
    return [String(args.contentHash).toLowerCase(), args.uri, args.version, String(args.by).toLowerCase()].map(String).join('|')
  } catch {
    return undefined
  }
}

function argsOf<T>(log: unknown): T {
  return (log as { args: T }).args
}

function textOf(content: ContentCheck): string | undefined {
  if (content.status !== 'intact') return undefined
  const text = content.document.text
  return typeof text === 'string' ? text : text === undefined ? '' : String(text)
}

export class ReviewBoardReader {
  readonly address: Address
  private readonly fromBlock: bigint
  private readonly logs: LogReader

  constructor(
    private readonly client: PublicClient,
    config: Config,
    readonly content: ContentStore,
  ) {
    const deployed = contractOf(config, 'ReviewBoard')
    this.address = deployed.address
    this.fromBlock = deployed.block
    this.logs = logReader(client, config)
  }

  /**
   * Reviews of a product (`gtin`) or of a merchant, ranked by usefulness at chain time `now`
   * (best first, folded last), as loop/_reviews.py `ReviewBoardReader.reviews`. Each says whether it
   * counts (`counts`); readers show only those that do, and say how many others there are.
   */
  async reviews(of: { gtin: bigint } | { merchant: number }, now: number): Promise<Review[]> {
    const subject = 'gtin' in of ? SUBJECT_PRODUCT : SUBJECT_MERCHANT
    const logs = await this.logs.get({ address: this.address, event: postedEvent, args: of, fromBlock: this.fromBlock })
    const found = new Map<Hex, Review>()
    const postedIn = new Map<Hex, bigint>()
    // The logs that gave each review's versions (posted, then edits) and its replies, to confirm on chain.
    const versionLogs = new Map<Hex, EventLog[]>()
    const replyLogs = new Map<Reply, EventLog>()
    for (const log of logs) {
      const a = argsOf<PostedArgs>(log)
      if (Number(a.subject) !== subject) continue
      postedIn.set(a.review, log.blockNumber ?? 0n)
      versionLogs.set(a.review, [log])
      const rating = Number(a.rating)
      found.set(a.review, {
        id: a.review,
        author: a.author,
        subject: subject === SUBJECT_PRODUCT ? 'product' : 'merchant',
        gtin: BigInt(a.gtin),
        merchant: Number(a.merchant),
        rating,
        version: 1,
        contentHash: a.contentHash,
        ticket: a.ticket,
        postedAt: 0,
        helpful: 0,
        notHelpful: 0,
        reports: 0,
        folded: false,
        counts: false,
        content: { status: 'missing', detail: t('content.notReadYet') },
        photos: 0,
        replies: [],
        versions: [{ version: 1, rating, contentHash: a.contentHash, confirmed: false }],
        score: 0,
      })
    }
    if (found.size === 0) return []
    // When a review was posted is its ReviewPosted log's block (the contract keeps no time).
    const blocks = [...new Set(postedIn.values())]
    const times = new Map<bigint, number>()
    await Promise.all(blocks.map(async (block) => times.set(block, Number((await this.client.getBlock({ blockNumber: block })).timestamp))))
    for (const [id, block] of postedIn) found.get(id)!.postedAt = times.get(block) ?? 0
    await this.applyEditsAndReplies(found, versionLogs, replyLogs)
    // Every hash shown came in a log: the ones the index gave are confirmed on chain, all at once,
    // while the board's views are read.
    const listed = [...versionLogs.values()].flat()
    const confirmations = this.logs.confirm([...listed, ...replyLogs.values()], { fact: contentFact }).then((answers) => new Map([...listed, ...replyLogs.values()].map((log, i) => [log, answers[i]])))
    const reviews = [...found.values()]
    const unposted = new Set<Hex>()
    await Promise.all(
      reviews.map(async (review) => {
        const [view, counts, confirmed, fetched] = await Promise.all([
          this.client.readContract({ address: this.address, abi: reviewBoardAbi, functionName: 'review', args: [review.id] }) as Promise<ReviewView>,
          this.client.readContract({ address: this.address, abi: reviewBoardAbi, functionName: 'counts', args: [review.id, review.gtin] }) as Promise<boolean>,
          confirmations,
          this.content.get(review.contentHash),
        ])
        versionLogs.get(review.id)?.forEach((log, i) => (review.versions[i].confirmed = confirmed.get(log) === true))
        const content = review.versions[review.versions.length - 1].confirmed ? fetched : UNCONFIRMED
        // The lists may come from an index: the chain's view decides whether the review exists,
        // its rating, and how many versions it has (a list that lacks an edit or adds one shows no text).
        if (!view.posted) unposted.add(review.id) // listed, but the chain never took it
        review.counts = counts && view.posted
        review.helpful = Number(view.helpful)
        review.notHelpful = Number(view.notHelpful)
        review.reports = Number(view.reports)
        review.folded = view.folded
        review.version = Number(view.version)
        const listedInFull = view.posted && review.versions.length === review.version && review.rating === Number(view.rating)
        review.rating = Number(view.rating)
        review.content = listedInFull ? content : { status: 'missing', detail: t('content.versionsDiffer') }
        review.text = textOf(review.content)
        if (review.content.status === 'intact') {
          const photos = review.content.document.photos
          review.photos = Array.isArray(photos) ? photos.length : 0
        }
        await Promise.all(
          review.replies.map(async (reply) => {
            reply.content = confirmed.get(replyLogs.get(reply)!) === true ? await this.content.get(reply.contentHash) : UNCONFIRMED
            reply.text = textOf(reply.content)
          }),
        )
      }),
    )
    for (const review of reviews) review.score = usefulness(review, now)
    return reviews.filter((review) => !unposted.has(review.id)).sort(compareReviews)
  }

  /** Each review's edits (its versions, their logs added to `versionLogs`) and replies (their logs in `replyLogs`). */
  private async applyEditsAndReplies(found: Map<Hex, Review>, versionLogs: Map<Hex, EventLog[]>, replyLogs: Map<Reply, EventLog>): Promise<void> {
    const ids = [...found.keys()]
    for (let start = 0; start < ids.length; start += 100) {
      // topic lists stay short for public nodes
      const chunk = ids.slice(start, start + 100)
      const [edited, replied] = await Promise.all([
        this.logs.get({ address: this.address, event: editedEvent, args: { review: chunk }, fromBlock: this.fromBlock }),
        this.logs.get({ address: this.address, event: repliedEvent, args: { review: chunk }, fromBlock: this.fromBlock }),
      ])
      for (const log of edited) {
        const a = argsOf<EditedArgs>(log)
        const review = found.get(a.review)
        if (!review) continue
        review.rating = Number(a.rating)
        review.contentHash = a.contentHash
        review.versions.push({ version: Number(a.version), rating: Number(a.rating), contentHash: a.contentHash, confirmed: false })
        versionLogs.get(a.review)?.push(log)
      }
      for (const log of replied) {
        const a = argsOf<RepliedArgs>(log)
        const review = found.get(a.review)
        if (!review) continue
        const reply: Reply = { by: a.by, merchant: Number(a.merchant), contentHash: a.contentHash, content: { status: 'missing', detail: t('content.notReadYet') } }
        review.replies.push(reply)
        replyLogs.set(reply, log)
      }
    }
  }

  /** The merchant's profile as the chain holds it, with its document checked against its hash. */
  async merchantProfile(merchant: number): Promise<MerchantProfile> {
    const [view, logs] = await Promise.all([
      this.client.readContract({ address: this.address, abi: reviewBoardAbi, functionName: 'merchantProfile', args: [merchant] }) as Promise<ProfileView>,
      this.logs.get({ address: this.address, event: profileEvent, args: { merchant }, fromBlock: this.fromBlock }),
    ])
    const updatedAt = Number(view.updatedAt)
    const gln = BigInt(view.gln)
    const profile: MerchantProfile = {
      merchant,
      retailer: Number(view.retailer),
      profileHash: view.profileHash,
      uri: logs.length > 0 ? argsOf<ProfileArgs>(logs[logs.length - 1]).uri : undefined,
      gln: gln === 0n ? undefined : gln.toString().padStart(13, '0'),
      latitude: Number(view.latitudeE6) / 1e6,
      longitude: Number(view.longitudeE6) / 1e6,
      updatedAt,
    }
    if (updatedAt !== 0 && BigInt(view.profileHash) !== 0n) profile.content = await this.content.get(view.profileHash)
    return profile
  }
}

/** Whether `account` has voted on each of `reviews` (ReviewBoard.hasVoted). */
export async function votedOn(client: PublicClient, board: Address, reviews: Hex[], account: Address): Promise<Set<Hex>> {
  const answers = await Promise.all(
    reviews.map((id) => client.readContract({ address: board, abi: reviewBoardAbi, functionName: 'hasVoted', args: [id, account] }) as Promise<boolean>),
  )
  return new Set(reviews.filter((_, i) => answers[i]))
}

/** The average of the latest ratings (folded reviews included), as loop/_reviews.py `merchant_rating`. */
export function averageRating(reviews: Review[]): number | undefined {
  if (reviews.length === 0) return undefined
  return reviews.reduce((sum, r) => sum + r.rating, 0) / reviews.length
}
