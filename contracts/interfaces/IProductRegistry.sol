// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {
    BrandId,
    BrandView,
    ItemBatch,
    ItemId,
    ItemStatus,
    ItemView,
    LineView,
    LotId,
    LotRootView,
    LotView,
    MerkleItem,
    ProductView
} from "../Types.sol";

/**
 * @dev Product identity: brands with their GS1 company prefixes, product classes (GTIN), and one
 * identity per physical item (GTIN + serial), with its lot, status and first-sale owner.
 *
 * Items are registered in two ways:
 *
 * - explicitly, in batches ({registerItems}): one storage slot per item, for up to thousands of
 *   items per transaction; or one at a time from a production line ({openLine}, then
 *   {registerItem} per item), where what a batch checks is checked once when the line opens;
 * - by Merkle root ({commitLot}, or {commitLineRoot} from a line): one storage slot for a whole
 *   lot of up to 2^20 items. The leaves (a manifest) are published off chain: at the `uri` of
 *   {LotCommitted}, or for a root committed from a line ({LineRootCommitted}) at
 *   `<manifests>/<root>.json` (the root as 0x-prefixed lowercase hex) under the `manifests` base
 *   URI of the line's {LineOpened}. An item of such a lot is then shown authentic by its proof
 *   ({verifyMerkle}, free) and written to item storage by anyone who holds the proof
 *   ({proveItem}), after which it behaves like an explicit item. Leaves are OpenZeppelin StandardMerkleTree leaves of
 *   `(bytes32 item, bytes32 lot)`: `keccak256(bytes.concat(keccak256(abi.encode(item, lot))))`.
 *
 * Roles (OpenZeppelin AccessControl; role ids from {brandAdminRole}, {registrantRole},
 * {sellerRole}):
 *
 * - `DEFAULT_ADMIN_ROLE`: registers brands, assigns company prefixes, administers brand admins;
 * - brand admin of brand `b`: registers products, recalls, decommissions, and grants or revokes
 *   the registrant and seller roles of `b` with the plain `grantRole` / `revokeRole`;
 * - registrant of `b` (production line, co-packer): registers products and items, commits lots,
 *   opens lines, recalls, decommissions, claims. Revoking or renouncing the role closes the
 *   key's open line of `b`, so a revoked key can register nothing more;
 * - seller of `b` (store, till): claims items for their first buyer, directly or by signing an
 *   EIP-712 `Claim` that the buyer submits ({claimWithSignature}).
 *
 * Where a function accepts either of two roles, a refused caller gets
 * `AccessControlUnauthorizedAccount(caller, role)` naming the narrower role that suffices: the
 * registrant role for operations of brand admins or registrants, the seller role for claims.
 */
interface IProductRegistry {
    // --------------------------------------------------------------------------------------------
    // Errors
    // --------------------------------------------------------------------------------------------

    /// @notice `brand` has not been registered.
    error IdentityBrandUnknown(BrandId brand);
    /// @notice A brand was registered with the zero address as admin.
    error IdentityInvalidAdmin(address admin);
    /// @notice A brand was registered with an empty name.
    error IdentityBrandNameEmpty();
    /// @notice `prefix` is not a GS1 company prefix of 4 to 12 ASCII digits.
    error IdentityPrefixInvalid(string prefix);
    /// @notice `prefix` already belongs to brand `owner`.
    error IdentityPrefixTaken(string prefix, BrandId owner);
    /// @notice `prefix` starts with, or is the start of, a prefix already assigned (GS1 company
    /// prefixes never nest).
    error IdentityPrefixNested(string prefix);
    /// @notice `gtin` is not a GTIN-14 with a correct check digit.
    error IdentityGtinInvalid(uint64 gtin);
    /// @notice The company prefix of `gtin` is not one of `brand`'s.
    error IdentityGtinNotOfBrand(uint64 gtin, BrandId brand);
    /// @notice `gtin` is already registered, by `brand`.
    error IdentityProductAlreadyRegistered(uint64 gtin, BrandId brand);
    /// @notice `gtin` has not been registered as a product.
    error IdentityProductUnknown(uint64 gtin);
    /// @notice `serial` (of an item of `gtin`) is not 1 to 20 bytes, left aligned, zero padded.
    error IdentitySerialInvalid(uint64 gtin, bytes32 serial);
    /// @notice `lot` is not 1 to 20 bytes, left aligned, zero padded.
    error IdentityLotCodeInvalid(bytes32 lot);
    /// @notice `expiry` is neither 0 nor a YYMMDD date.
    error IdentityExpiryInvalid(uint32 expiry);
    /// @notice A batch of `gtin` and `lot` has no serials.
    error IdentityBatchEmpty(uint64 gtin, bytes32 lot);
    /// @notice `lot` exists with expiry `expiry`; a batch gave `given`.
    error IdentityLotExpiryMismatch(LotId lot, uint32 expiry, uint32 given);
    /// @notice `lot` has been recalled: no new items, no claims, no second recall.
    error IdentityLotRecalled(LotId lot);
    /// @notice `lot` has no record (nothing of it registered or proven, no line opened for it): only
    /// a brand admin may recall it.
    error IdentityLotUnknown(LotId lot);
    /// @notice A lot root may commit at most `max` items; `count` were declared.
    error IdentityLotTooLarge(uint32 count, uint32 max);
    /// @notice `root` was committed with a count of zero items.
    error IdentityLotEmpty(bytes32 root);
    /// @notice `root` is zero, which is reserved.
    error IdentityRootInvalid(bytes32 root);
    /// @notice `root` has already been committed.
    error IdentityRootAlreadyCommitted(bytes32 root);
    /// @notice `root` has not been committed.
    error IdentityRootUnknown(bytes32 root);
    /// @notice The proof does not show `item` (in the lot given) under `root`, or the GTIN or lot
    /// given is not the one `root` was committed for.
    error IdentityProofInvalid(ItemId item, bytes32 root);
    /// @notice `item` is already registered (explicitly or by proof).
    error IdentityItemAlreadyRegistered(ItemId item);
    /// @notice `item` is not registered (a Merkle item must be proven first).
    error IdentityItemUnknown(ItemId item);
    /// @notice `item` has status `status`, and the operation needs an active item.
    error IdentityItemNotActive(ItemId item, ItemStatus status);
    /// @notice `item` was already claimed, by `owner`.
    error IdentityItemAlreadyClaimed(ItemId item, address owner);
    /// @notice An item cannot be claimed for the zero address.
    error IdentityInvalidOwner(address owner);
    /// @notice A signed claim expired at `deadline`; it is `now`.
    error IdentitySignatureExpired(uint256 deadline, uint256 now);
    /// @notice `signer` signed a claim but is not a seller of `brand`.
    error IdentitySignerNotSeller(address signer, BrandId brand);
    /// @notice `account` has no open production line ({openLine}).
    error IdentityNoOpenLine(address account);
    /// @notice `account` has a production line open, but not for `lot`.
    error IdentityLineNotForLot(address account, LotId lot);

    // --------------------------------------------------------------------------------------------
    // Events
    // --------------------------------------------------------------------------------------------

    /// @notice Brand `brand` was registered with name `name` and first admin `admin`.
    event BrandRegistered(BrandId indexed brand, address indexed admin, string name);
    /// @notice GS1 company prefix `prefix` was assigned to `brand`.
    event CompanyPrefixAssigned(BrandId indexed brand, string prefix);
    /// @notice `brand` registered product class `gtin`, described at `uri`.
    event ProductRegistered(uint64 indexed gtin, BrandId indexed brand, string uri);
    /// @notice `item` was registered explicitly. Emitted once per item. For an item of a batch
    /// ({registerItems}), the batch's {ItemsRegistered}, which carries the lot, follows the
    /// batch's items in the same transaction; for an item of a line ({registerItem}), the lot is
    /// the one of the sender's last {LineOpened}, and {verify} shows it. (The lot is not a topic
    /// here: 375 gas per item, see the gas report.)
    event ItemRegistered(ItemId indexed item);
    /// @notice `count` items of `gtin` were registered by `brand` in `lot` (code `lotCode`,
    /// expiry `expiry`). Emitted once per batch, after that batch's {ItemRegistered} events.
    event ItemsRegistered(
        BrandId indexed brand, LotId indexed lot, uint64 indexed gtin, bytes32 lotCode, uint32 expiry, uint256 count
    );
    /// @notice `brand` committed `count` items of `gtin` in `lot` (code `lotCode`, expiry
    /// `expiry`) under Merkle `root`; the leaves are published at `uri`.
    event LotCommitted(
        BrandId indexed brand,
        LotId indexed lot,
        bytes32 indexed root,
        uint64 gtin,
        bytes32 lotCode,
        uint32 expiry,
        uint32 count,
        string uri
    );
    /// @notice `brand` committed `count` items of `lot` under Merkle `root` from a production line:
    /// the GTIN, lot code and expiry are those of the committing key's {LineOpened} for `lot` (and
    /// {lotRoot}), the leaves are published at `<manifests>/<root>.json` under that event's
    /// `manifests` (the root as 0x-prefixed lowercase hex).
    event LineRootCommitted(BrandId indexed brand, LotId indexed lot, bytes32 indexed root, uint32 count);
    /// @notice `registrant` opened a production line for `lot` (code `lotCode`, expiry `expiry`)
    /// of product `gtin` of `brand`: its {registerItem} and {commitLineRoot} calls go to that lot.
    /// The Merkle manifests of the roots it commits are published under base URI `manifests`
    /// (`<manifests>/<root>.json`); "" for a line that registers items one by one.
    event LineOpened(
        address indexed registrant,
        BrandId indexed brand,
        LotId indexed lot,
        uint64 gtin,
        bytes32 lotCode,
        uint32 expiry,
        string manifests
    );
    /// @notice The production line of `registrant` for `lot` of `brand` was closed: by the
    /// registrant ({closeLine}), by opening another ({openLine}), or because the registrant role
    /// of `brand` was revoked or renounced (the same transaction then has OpenZeppelin's `RoleRevoked`).
    event LineClosed(address indexed registrant, BrandId indexed brand, LotId indexed lot);
    /// @notice `item` was proven under `root` and written to item storage.
    event ItemProven(ItemId indexed item, bytes32 indexed root);
    /// @notice `item` was claimed for its first buyer `owner`, authorised by seller or registrant `by`.
    event ItemClaimed(ItemId indexed item, address indexed owner, address indexed by);
    /// @notice `brand` recalled `item` for `reason` (a brand-defined code); `document` is the hash
    /// of the recall notice kept off chain.
    event ItemRecalled(ItemId indexed item, BrandId indexed brand, uint16 reason, bytes32 document);
    /// @notice `brand` recalled `lot` of `gtin` for `reason`; `document` is the hash of the notice.
    event LotRecalled(LotId indexed lot, BrandId indexed brand, uint64 gtin, uint16 reason, bytes32 document);
    /// @notice `brand` took `item` out of circulation (destroyed, lost, returned) for `reason`.
    event ItemDecommissioned(ItemId indexed item, BrandId indexed brand, uint16 reason);

    // --------------------------------------------------------------------------------------------
    // Brands and products
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Registers a brand with its first admin and GS1 company prefixes.
     * @dev Only `DEFAULT_ADMIN_ROLE`. Brand ids are sequential from 1. Grants
     * {brandAdminRole}(brand) to `admin` and makes it the admin role of the brand's registrant
     * and seller roles. Emits {BrandRegistered} and one {CompanyPrefixAssigned} per prefix.
     * Reverts with {IdentityInvalidAdmin}, {IdentityBrandNameEmpty} or a prefix error of
     * {assignCompanyPrefix}.
     * @param admin First brand admin.
     * @param name Display name of the brand.
     * @param prefixes GS1 company prefixes (4..12 digits each), possibly none.
     * @return id The new brand's id.
     */
    function registerBrand(address admin, string calldata name, string[] calldata prefixes)
        external
        returns (BrandId id);

    /**
     * @notice Assigns GS1 company prefix `prefix` to brand `id`.
     * @dev Only `DEFAULT_ADMIN_ROLE`. Refuses a prefix that is not 4..12 ASCII digits
     * ({IdentityPrefixInvalid}), that is already assigned ({IdentityPrefixTaken}), or that would
     * nest with an assigned prefix ({IdentityPrefixNested}): GS1 company prefixes never nest, so
     * at most one assigned prefix matches any GTIN. Emits {CompanyPrefixAssigned}.
     */
    function assignCompanyPrefix(BrandId id, string calldata prefix) external;

    /**
     * @notice Registers product class `gtin` for brand `id`, described at `uri` (kept in the event only).
     * @dev Only a brand admin or registrant of brand `id`. `gtin` must have a correct check digit
     * ({IdentityGtinInvalid}), its company prefix (the 4..12 digits after the indicator digit)
     * must be assigned to `id` ({IdentityGtinNotOfBrand}), and it must be new
     * ({IdentityProductAlreadyRegistered}). Emits {ProductRegistered}. Prefixes are GS1
     * company prefixes as they appear in a GTIN-12/13/14 (a U.P.C. prefix with its leading 0);
     * GTIN-8 (GS1-8 prefixes) is not supported.
     */
    function registerProduct(BrandId id, uint64 gtin, string calldata uri) external;

    // --------------------------------------------------------------------------------------------
    // Items: explicit batches and Merkle lots
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Registers the items of one or more batches, one storage slot per item.
     * @dev Caller must hold {registrantRole} of the brand of each batch's product
     * ({IdentityProductUnknown} when the GTIN is not registered). A lot record is created on the
     * lot's first batch, with that batch's expiry; a later batch of the lot must give the same
     * expiry ({IdentityLotExpiryMismatch}) and the lot must not be recalled
     * ({IdentityLotRecalled}). Each serial must be 1..20 bytes ({IdentitySerialInvalid}); an item
     * already registered, also twice in the same call, reverts the whole call
     * ({IdentityItemAlreadyRegistered}): use {registered} to resume an interrupted import.
     * Emits {ItemRegistered} per item and {ItemsRegistered} per batch.
     */
    function registerItems(ItemBatch[] calldata batches) external;

    /**
     * @notice Commits a lot of `count` items by the Merkle `root` of their leaves, published at `uri`.
     * @dev Caller must hold {registrantRole} of the product's brand. One storage slot, keyed by
     * `root`; a root is committed once ({IdentityRootAlreadyCommitted}); `count` is 1..2^20
     * ({IdentityLotEmpty}, {IdentityLotTooLarge}). The lot record itself is not read or created
     * here (gas): a lot may have several roots, and a root's items get the lot record when the
     * first of them is proven. Committing a root for a recalled lot is possible; its items then
     * show `lotRecalled` and cannot be claimed. Emits {LotCommitted}.
     */
    function commitLot(uint64 gtin, bytes32 lot, uint32 expiry, bytes32 root, uint32 count, string calldata uri)
        external;

    /**
     * @notice Opens a production line: the caller's key registers items of `lot` of `gtin` with
     * `expiry` one at a time ({registerItem}) or commits Merkle roots for it ({commitLineRoot}),
     * with everything a batch of {registerItems} checks checked here, once.
     * @dev Caller must hold {registrantRole} of the product's brand ({IdentityProductUnknown},
     * `AccessControlUnauthorizedAccount`). `expiry` must be 0 or YYMMDD ({IdentityExpiryInvalid})
     * and `lot` 1..20 bytes ({IdentityLotCodeInvalid}). Like a first batch, creates the lot
     * record when the lot has none; otherwise the lot must not be recalled
     * ({IdentityLotRecalled}) and `expiry` must be the lot's ({IdentityLotExpiryMismatch}).
     * One line per key: a line already open is closed first ({LineClosed}). Emits {LineOpened}
     * with `manifests`, which is kept in the event only. The line stays open until {closeLine},
     * the next {openLine}, or the revocation of the key's registrant role of the brand.
     * @param manifests Base URI under which the line's Merkle manifests are published, one file
     * per committed root: `<manifests>/<root>.json`; "" for a line that registers items one by one.
     */
    function openLine(uint64 gtin, bytes32 lot, uint32 expiry, string calldata manifests) external;

    /**
     * @notice Registers item `serial` of the caller's open line (its GTIN and lot), one storage
     * slot, as {registerItems} would.
     * @dev Reads the line ({IdentityNoOpenLine}) and the lot's record: an item of a lot recalled
     * after the line opened is refused ({IdentityLotRecalled}), as a batch's would be. The role is
     * not read again: revoking it closes the line. `serial` must be 1..20 bytes
     * ({IdentitySerialInvalid}) and new ({IdentityItemAlreadyRegistered}). Emits {ItemRegistered}
     * (the item's id is {itemId} of the line's GTIN and `serial`).
     */
    function registerItem(bytes32 serial) external;

    /**
     * @notice Commits `count` items of `lot`, the lot of the caller's open line (its GTIN and
     * expiry), by the Merkle `root` of their leaves, published at `<manifests>/<root>.json` under
     * the line's {LineOpened} `manifests`: the record of {commitLot}, with a compact event.
     * @dev One read in place of the product, the role and the lot: the word {openLine} wrote for
     * the caller and `lot`, deleted when the line closes (by {closeLine}, the next {openLine}, or
     * the revocation of the role). Refuses a caller without a line ({IdentityNoOpenLine}) or whose
     * line is for another lot ({IdentityLineNotForLot}), and what {commitLot} refuses
     * ({IdentityLotEmpty}, {IdentityLotTooLarge}, {IdentityRootInvalid},
     * {IdentityRootAlreadyCommitted}). The lot's recall is not read: like {commitLot}, a root may be
     * committed for a lot recalled after the line opened; its items then show `lotRecalled` and
     * cannot be claimed. Writes the same root record as {commitLot} ({lotRoot}, {verifyMerkle} and
     * {proveItem} treat both alike). Emits {LineRootCommitted}.
     * @param lot The line's lot, as {lotId} of its GTIN and code (and in {LineOpened}).
     */
    function commitLineRoot(LotId lot, bytes32 root, uint32 count) external;

    /// @notice Closes the caller's open line ({IdentityNoOpenLine} when none). Emits {LineClosed}.
    function closeLine() external;

    /**
     * @notice Writes a Merkle-committed item to item storage, so that it can be claimed,
     * recalled and decommissioned by its id. Anyone holding the proof may call it.
     * @dev Recomputes the item and lot ids from `m`, checks that `m.gtin` is the root's GTIN,
     * `m.lot` its lot, the product's brand the root's brand, and the proof
     * ({IdentityRootUnknown}, {IdentityProofInvalid}, {IdentityGtinNotOfBrand}); refuses an item
     * already registered ({IdentityItemAlreadyRegistered}). Creates the lot record on the lot's
     * first proof. Combine with {claimWithSignature} in one transaction through `multicall`.
     * Emits {ItemProven}.
     * @return item The proven item's id.
     */
    function proveItem(MerkleItem calldata m) external returns (ItemId item);

    // --------------------------------------------------------------------------------------------
    // Status, claims and recalls
    // --------------------------------------------------------------------------------------------

    /**
     * @notice Records `owner` as the first buyer of `item` (first-sale claim). Once per item: a
     * cloned QR code then shows an owner the holder of the clone is not.
     * @dev Only a seller or registrant of the item's brand. Refuses an unknown item
     * ({IdentityItemUnknown}), the zero owner ({IdentityInvalidOwner}), a claimed item
     * ({IdentityItemAlreadyClaimed}), a recalled or decommissioned item
     * ({IdentityItemNotActive}) and an item of a recalled lot ({IdentityLotRecalled}).
     * Emits {ItemClaimed} with `by` = caller.
     */
    function claim(ItemId item, address owner) external;

    /**
     * @notice Records `owner` as the first buyer of `item` on the strength of a seller's EIP-712
     * signature, so that the buyer (or anyone) submits it: the store signs at the till.
     * @dev Typed data `Claim(bytes32 item,address owner,uint256 deadline)` in the domain
     * {name: "o2ochain ProductRegistry", version: "1", chainId, verifyingContract: this}, so a
     * signature is bound to this chain and contract. No nonce is needed: an item is claimed once,
     * so a signature can never be used twice. Refuses an expired signature
     * ({IdentitySignatureExpired}), a signer without {sellerRole} of the item's brand
     * ({IdentitySignerNotSeller}), a malformed signature (OpenZeppelin `ECDSAInvalidSignature…`)
     * and everything {claim} refuses. Emits {ItemClaimed} with `by` = signer.
     */
    function claimWithSignature(ItemId item, address owner, uint256 deadline, bytes calldata signature) external;

    /**
     * @notice Recalls one active item (claimed or not).
     * @dev Only a brand admin or registrant of the item's brand. {IdentityItemUnknown},
     * {IdentityItemNotActive}. Emits {ItemRecalled}.
     * @param reason Brand-defined reason code.
     * @param document Hash of the recall notice kept off chain.
     */
    function recallItem(ItemId item, uint16 reason, bytes32 document) external;

    /**
     * @notice Recalls a whole lot, whether its items were registered explicitly or committed by
     * Merkle roots (proven or not).
     * @dev Only a brand admin or registrant of the product's brand. A lot with no record yet is
     * recalled only by a brand admin, which creates its record (expiry 0); a registrant gets
     * {IdentityLotUnknown}. A lot has a record once an item of it was registered or proven, or a
     * production line opened for it; a lot only committed by Merkle root ({commitLot}), none of
     * its items proven yet, has none (its commitment writes the root alone, for gas), so only a
     * brand admin recalls it. Refuses a lot already recalled ({IdentityLotRecalled}).
     * Emits {LotRecalled}.
     */
    function recallLot(uint64 gtin, bytes32 lot, uint16 reason, bytes32 document) external;

    /**
     * @notice Takes an active or recalled item out of circulation for good (destroyed, lost,
     * returned to the maker).
     * @dev Only a brand admin or registrant of the item's brand. {IdentityItemUnknown},
     * {IdentityItemNotActive} when already decommissioned. Emits {ItemDecommissioned}.
     */
    function decommission(ItemId item, uint16 reason) external;

    // --------------------------------------------------------------------------------------------
    // Views
    // --------------------------------------------------------------------------------------------

    /// @notice What a scan of `item` shows. Never reverts: an unknown item has `registered == false`.
    function verify(ItemId item) external view returns (ItemView memory);

    /**
     * @notice What a scan of a Merkle-committed item shows, checked against its proof.
     * @dev Reverts as {proveItem} does for a bad proof. An item not proven yet shows
     * `registered == true`, status Active, no owner and the root's commitment block; a proven
     * item shows what {verify} shows.
     */
    function verifyMerkle(MerkleItem calldata m) external view returns (ItemView memory);

    /// @notice For each of `items`, whether it is in item storage (registered or proven).
    function registered(ItemId[] calldata items) external view returns (bool[] memory);

    /// @notice Product class `gtin`; `brand == 0` when unknown.
    function product(uint64 gtin) external view returns (ProductView memory);

    /// @notice Brand `id`; `registeredAt == 0` when unknown.
    function brand(BrandId id) external view returns (BrandView memory);

    /// @notice Number of brands registered; ids run from 1 to this number.
    function brandCount() external view returns (uint32);

    /// @notice The brand `prefix` is assigned to, 0 when none. Reverts with {IdentityPrefixInvalid}.
    function brandOfPrefix(string calldata prefix) external view returns (BrandId);

    /// @notice The commitment of Merkle `root`; `committedAt == 0` when unknown.
    function lotRoot(bytes32 root) external view returns (LotRootView memory);

    /// @notice The production line `account` has open; `open == false` when none.
    function line(address account) external view returns (LineView memory);

    /// @notice The record of `lot`; `exists == false` when the registry has none (a lot with
    /// Merkle roots only gets a record on its first proof, its recall or a line opened on it).
    function lotInfo(LotId lot) external view returns (LotView memory);

    /// @notice The id of item `serial` of `gtin`. Reverts with {IdentityGtinInvalid} or
    /// {IdentitySerialInvalid}.
    function itemId(uint64 gtin, bytes32 serial) external pure returns (ItemId);

    /// @notice The id of lot `lot` of `gtin`. Reverts with {IdentityGtinInvalid} or {IdentityLotCodeInvalid}.
    function lotId(uint64 gtin, bytes32 lot) external pure returns (LotId);

    /// @notice The EIP-712 digest a seller signs to authorise {claimWithSignature}.
    function claimDigest(ItemId item, address owner, uint256 deadline) external view returns (bytes32);

    /// @notice Role id of the admins of brand `id`: `keccak256(abi.encode("o2ochain.identity.brand-admin", id))`.
    function brandAdminRole(BrandId id) external pure returns (bytes32);

    /// @notice Role id of the registrants of brand `id`: `keccak256(abi.encode("o2ochain.identity.registrant", id))`.
    function registrantRole(BrandId id) external pure returns (bytes32);

    /// @notice Role id of the sellers of brand `id`: `keccak256(abi.encode("o2ochain.identity.seller", id))`.
    function sellerRole(BrandId id) external pure returns (bytes32);

    /// @notice Version of this contract, "0.1.0".
    function version() external pure returns (string memory);
}
