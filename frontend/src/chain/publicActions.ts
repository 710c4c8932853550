/** viem's full set of public actions, loaded by ./client.ts the first time the page needs one beyond its first paint's. */
export { publicActions } from 'viem'
