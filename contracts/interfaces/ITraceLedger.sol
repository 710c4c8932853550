// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IProductRegistry} from "./IProductRegistry.sol";
import {ActorView, BrandId, Entry} from "../Types.sol";

/**
 * @dev Traceability ledger: an append-only, tamper-evident supply-chain history per subject
 * (item, lot, product class or container), shaped after GS1 EPCIS 2.0.
 *
 * A brand's admin (the holder of `registry.brandAdminRole(brand)` in the {IProductRegistry})
 * authorises supply-chain actors for the brand's goods ({grantActor}, {revokeActor}). An actor
 * appends entries ({record}): each anchors the hash of a full off-chain EPCIS event with its
 * what / when / why (`meta`), where (`readPoint`, `bizLocation`), EPCIS eventID and related
 * subjects. Nothing is ever edited or deleted: a correction (EPCIS error declaration) is a new
 * entry whose `meta` flags say so and whose `eventId` names the event it corrects.
 *
 * History lives in the logs ({Recorded}, {Linked}); storage holds one word per chain, the chain's
 * head, so that an off-chain copy of a full history is checked with one read.
 *
 * Chains. A chain is identified by (brand, subject): the same subject may have a chain under
 * several brands, and a consumer reads the one of the brand the subject belongs to. The first
 * entry of a chain binds the subject to the brand: the ledger recomputes the subject from the
 * entry's {Binding} and, for an item, lot or product class, checks that the GTIN's product
 * belongs to the brand in the registry. A container (SSCC) lives in the recording brand's
 * namespace and needs no registry check; so does any other GS1-identified subject (an asset, a
 * document, a location: binding kind 5), whose id is `keccak256(abi.encode(TRACE_ASSET_DOMAIN,
 * keccak256(path)))` (Types.sol), so that it is never the id of an item, lot, product or
 * container. An actor of another brand can therefore never start a chain on this brand's goods.
 *
 * Head formula. With `prev` the chain's stored word (0 before the first entry), for an entry `e`
 * recorded by `actor`:
 *
 *     relatedHash = e.related.length == 0 ? 0 : keccak256(abi.encodePacked(e.related))
 *     h           = keccak256(abi.encode(prev, e.content, e.meta, e.readPoint, e.bizLocation,
 *                                        e.eventId, relatedHash, actor))
 *     count       = uint64(prev) + 1
 *     head        = (uint256(uint192(uint256(h))) << 64) | count
 *
 * that is, the low 192 bits of `h` in the word's top 192 bits and the number of entries in its
 * low 64 bits. `abi.encode` gives eight 32-byte words (the address left-padded with zeros);
 * `abi.encodePacked(related)` is the ids concatenated, 32 bytes each. Every input is in the logs:
 * the {Recorded} event carries all but `related`, which are the {Linked} events that follow it
 * in the same transaction (the {Linked} events of `subject` between this {Recorded} of
 * `subject` and the next, in log order, carry `related` in order).
 *
 * Aggregation (packing children into a container), transformation (inputs into an output lot)
 * and association are entries on the parent / output with the children / inputs as `related`:
 * one entry, whose cost depends on the number of children only through its {Linked} events. An
 * event on a container then applies to its children while packed; resolving that is the
 * reader's work, from the logs.
 *
 * Whose word counts in an item's history. Only the actors an item's brand authorised write its
 * history: the chains of (brand, subject) for the item, its lot and its product class, and the
 * chains of the containers it was packed in UNDER THAT SAME BRAND. A {Linked} event names
 * `related` without the ledger knowing whose goods `related` are (an id is a hash), so any brand's
 * actor may name another brand's item as the child of its own container: such a link is not
 * refused on chain, and every reader (the library's `Trace.history`, the consumer page) IGNORES a
 * {Linked} event whose `brand` is not the item's brand — what brand 2's actors record on a pallet
 * never enters the history of brand 1's item. A carrier serving several brands is authorised by
 * each, and records a mixed pallet once per brand, each entry naming that brand's goods. A
 * container or asset chain belongs to the brand it is recorded under: no other brand can add to
 * it. Inputs of a transformation recorded under the item's brand (the brand vouches for that
 * link) are followed into their own brands' chains, shown as inputs.
 */
interface ITraceLedger {
    // --------------------------------------------------------------------------------------------
    // Errors
    // --------------------------------------------------------------------------------------------

    /// @notice `account` does not hold the brand admin role of `brand` in the registry.
    error TraceNotBrandAdmin(BrandId brand, address account);
    /// @notice `account` is not an active actor of `brand`.
    error TraceNotActor(BrandId brand, address account);
    /// @notice An actor cannot be the zero address.
    error TraceActorInvalid(address actor);
    /// @notice `kind` is not an actor kind (1 grower, 2 processor, 3 logistics, 4 retail, 5 other).
    error TraceActorKindInvalid(uint8 kind);
    /// @notice The binding of the first entry on `subject` has an unknown `kind`, or a code that is
    /// not valid for that kind (a serial or lot code of 1..20 bytes, a zero code for a product
    /// class, 18 digits with a correct check digit for an SSCC, a nonzero path hash for an asset).
    error TraceBindingInvalid(bytes32 subject, uint8 kind);
    /// @notice The first entry names `subject`, but its binding describes `computed`.
    error TraceSubjectMismatch(bytes32 subject, bytes32 computed);
    /// @notice The product of `subject` belongs to `productBrand` (0 when not registered), not to
    /// the recording `brand`.
    error TraceSubjectNotOfBrand(bytes32 subject, BrandId brand, BrandId productBrand);
    /// @notice {record} was called without entries.
    error TraceBatchEmpty();
    /// @notice An entry on `subject` has no content hash.
    error TraceContentEmpty(bytes32 subject);

    // --------------------------------------------------------------------------------------------
    // Events
    // --------------------------------------------------------------------------------------------

    /// @notice `brand`'s admin authorised `actor` as an actor of kind `kind` located at `location`
    /// (a GLN-derived id, 0 when none). Also emitted when an active actor's kind or location is updated.
    event ActorGranted(BrandId indexed brand, address indexed actor, uint8 kind, bytes32 location);
    /// @notice `by`, an admin of `brand`, withdrew the authorisation of `actor`.
    event ActorRevoked(BrandId indexed brand, address indexed actor, address by);
    /**
     * @notice `actor` appended an entry to the chain of (`brand`, `subject`): the EPCIS event
     * hashed `content`, with `meta` (what / when / why), `readPoint` and `bizLocation` (where) and
     * EPCIS eventID hash `eventId`. Its related ids follow as {Linked} events. The new head is not
     * logged: it is recomputed from these fields (see the head formula above) and read with {head}.
     */
    event Recorded(
        bytes32 indexed subject,
        BrandId indexed brand,
        address indexed actor,
        bytes32 content,
        bytes32 meta,
        bytes32 readPoint,
        bytes32 bizLocation,
        bytes32 eventId
    );
    /// @notice The entry with content hash `content` on (`brand`, `subject`) names `related` (a
    /// child, an input or another subject). Filter by `related` AND the item's `brand` to find the
    /// containers an item was packed in (a link under another brand is not the item's history),
    /// or by `related` alone for the outputs made from a lot.
    event Linked(bytes32 indexed related, bytes32 indexed subject, BrandId indexed brand, bytes32 content);
    /// @notice `actor` publishes the full EPCIS events it records for `brand` under `uri`: the
    /// event whose content hash is `h` is at `uri` followed by the 0x-prefixed hex of `h`. The
    /// latest such event of an actor is in force; no storage is used.
    event RepositorySet(BrandId indexed brand, address indexed actor, string uri);
    /// @notice `brand`'s admin published who `actor` is: its profile document (name, city, the
    /// places it records at) hashes to `profileHash` (keccak256 of its canonical JSON) and is at
    /// `uri`. The brand vouches for the names a shopper reads; the latest profile is in force.
    event ActorProfileSet(BrandId indexed brand, address indexed actor, bytes32 profileHash, string uri);

    // --------------------------------------------------------------------------------------------
    // Actors
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Authorises `account` to record entries for `brand`'s goods, or updates an active
     * actor's kind and location.
     * @dev Only a holder of `registry.brandAdminRole(brand)` ({TraceNotBrandAdmin}; brand 0 has
     * no admin). Refuses the zero address ({TraceActorInvalid}) and a kind outside 1..5
     * ({TraceActorKindInvalid}).
     * Emits {ActorGranted}.
     * @param kind 1 farm / grower, 2 plant / processor, 3 logistics, 4 store / retail, 5 other.
     * @param location The actor's GLN-derived location id, 0 when none.
     */
    function grantActor(BrandId brand, address account, uint8 kind, bytes32 location) external;

    /**
     * @notice Withdraws the authorisation of `account` for `brand`. Its past entries stay valid.
     * @dev Only a holder of `registry.brandAdminRole(brand)` ({TraceNotBrandAdmin}); `account` must
     * be active ({TraceNotActor}). Emits {ActorRevoked}.
     */
    function revokeActor(BrandId brand, address account) external;

    /**
     * @notice Names where the caller publishes the full EPCIS events it records for `brand` (the
     * URI of an event is `uri` + the 0x-hex of its content hash), so that anyone can fetch an
     * event and check it against the hash on chain.
     * @dev Only an active actor of `brand` ({TraceNotActor}). Emits {RepositorySet}.
     */
    function setRepository(BrandId brand, string calldata uri) external;

    /**
     * @notice Publishes who `account`, an actor `brand` authorised, is: the hash of its profile
     * document (its name, city and the places it records at, by GLN), kept so that a page can
     * check the document it fetched from `uri`. A zero hash withdraws the profile.
     * @dev Only a holder of `registry.brandAdminRole(brand)` ({TraceNotBrandAdmin}); `account`
     * must have been granted by `brand` at some time ({TraceActorInvalid}): a revoked actor keeps
     * its name for the entries it recorded. Emits {ActorProfileSet}.
     */
    function setActorProfile(BrandId brand, address account, bytes32 profileHash, string calldata uri) external;

    // --------------------------------------------------------------------------------------------
    // Recording
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Appends `entries`, in order, to the chains of (`brand`, entry subject).
     * @dev The caller must be an active actor of `brand` ({TraceNotActor}); `entries` must not be
     * empty ({TraceBatchEmpty}) and each must have a content hash ({TraceContentEmpty}). The
     * first entry of a chain (head 0) binds its subject: {TraceBindingInvalid},
     * {TraceSubjectMismatch}, {TraceSubjectNotOfBrand}; later entries ignore the binding. Several
     * entries may concern the same subject, the first of them binding it. Emits, per entry,
     * {Recorded} and then one {Linked} per related id. Nothing recorded is ever modified.
     */
    function record(BrandId brand, Entry[] calldata entries) external;

    // --------------------------------------------------------------------------------------------
    // Views
    // --------------------------------------------------------------------------------------------

    /**
     * @notice The head of the chain of (`brand`, `subject`): `current` is the stored word (the
     * `prev` of the chain's next entry), whose low 64 bits are `count`, the number of entries.
     * Both are 0 for a chain without entries.
     */
    function head(BrandId brand, bytes32 subject) external view returns (bytes32 current, uint64 count);

    /// @notice {head} for each of `subjects`, in order.
    function heads(BrandId brand, bytes32[] calldata subjects)
        external
        view
        returns (bytes32[] memory current, uint64[] memory counts);

    /// @notice The authorisation of `account` for `brand`; `kind == 0` when never granted.
    function actor(BrandId brand, address account) external view returns (ActorView memory);

    /// @notice The hash of `account`'s profile as `brand` published it ({setActorProfile}); 0 when none.
    function actorProfile(BrandId brand, address account) external view returns (bytes32);

    /// @notice The product registry whose brands, brand admins and products this ledger uses.
    function registry() external view returns (IProductRegistry);

    /// @notice Version of this contract, "0.1.0".
    function version() external pure returns (string memory);
}
