// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/**
 * @dev Value types, structs and GS1 helpers shared by the o2ochain identity contracts and their
 * clients.
 *
 * Identifiers are the keccak256 of a GS1 Digital Link path, so anyone can recompute them off
 * chain from what is printed on the pack:
 *
 * - `ItemId = keccak256("/01/" ++ 14 GTIN digits ++ "/21/" ++ serial)`
 * - `LotId  = keccak256("/01/" ++ 14 GTIN digits ++ "/10/" ++ lot)`
 *
 * A GTIN travels as the number of its 14-digit form (`09506000134352` is `9506000134352`); a
 * serial (GS1 AI 21) or lot code (AI 10) travels as a `bytes32` holding its ASCII bytes left
 * aligned and zero padded, so its length is 32 minus the number of trailing zero bytes and must
 * be 1..20. The character set is the client's to check; on chain only the length is checked.
 */

/// @dev A brand, numbered from 1 in order of registration; 0 is "no brand".
type BrandId is uint32;
/// @dev One physical item: keccak256 of its GS1 Digital Link path (see above).
type ItemId is bytes32;
/// @dev One production lot of one GTIN: keccak256 of its GS1 Digital Link path (see above).
type LotId is bytes32;

using {_brandEq as ==, _brandNeq as !=} for BrandId global;

function _brandEq(BrandId a, BrandId b) pure returns (bool) {
    return BrandId.unwrap(a) == BrandId.unwrap(b);
}

function _brandNeq(BrandId a, BrandId b) pure returns (bool) {
    return BrandId.unwrap(a) != BrandId.unwrap(b);
}

/// @dev Life cycle of an item. Who owns it (`claimedBy`) is kept apart from its status.
enum ItemStatus {
    Unregistered,
    Active,
    Recalled,
    Decommissioned
}

/// @dev Items of one GTIN and one lot, registered explicitly (see IProductRegistry.registerItems).
struct ItemBatch {
    uint64 gtin;
    bytes32 lot;
    /// YYMMDD as a decimal number (251231 = 31 Dec 2025), 0 = none. DD may be 00 (GS1: end of month).
    uint32 expiry;
    bytes32[] serials;
}

/// @dev An item of a Merkle-committed lot, with its proof (see IProductRegistry.proveItem).
struct MerkleItem {
    uint64 gtin;
    bytes32 serial;
    bytes32 lot;
    bytes32 root;
    bytes32[] proof;
}

/// @dev What a scan of an item shows. An unknown item has `registered == false` and zeros elsewhere.
struct ItemView {
    bool registered;
    BrandId brand;
    uint64 gtin;
    LotId lot;
    /// The lot code (AI 10), left aligned and zero padded as it was registered.
    bytes32 lotCode;
    /// YYMMDD or 0; for a Merkle item the expiry committed with its root.
    uint32 expiry;
    ItemStatus status;
    bool lotRecalled;
    address claimedBy;
    /// Block of registration (explicit item), of proof (proven Merkle item) or of the root's
    /// commitment (Merkle item checked by verifyMerkle but not proven yet).
    uint64 registeredAt;
    bool merkle;
    /// The Merkle root that committed the item, 0 for an explicitly registered item.
    bytes32 root;
}

/// @dev A product class (GTIN). `brand == 0` means unknown.
struct ProductView {
    BrandId brand;
    uint64 registeredAt;
}

/// @dev A brand. `registeredAt == 0` means unknown.
struct BrandView {
    string name;
    string[] prefixes;
    uint64 registeredAt;
}

/// @dev A lot known to the registry (it has explicit or proven items, or was recalled).
struct LotView {
    bool exists;
    BrandId brand;
    uint64 gtin;
    bytes32 lotCode;
    /// Expiry fixed when the lot record was created; 0 for a lot first created by a recall.
    uint32 expiry;
    bool recalled;
    uint64 createdAt;
}

/// @dev The production line a registrant key has open (see IProductRegistry.openLine).
/// `open == false` (and zeros elsewhere) when the key has none.
struct LineView {
    bool open;
    BrandId brand;
    uint64 gtin;
    LotId lot;
    bytes32 lotCode;
    uint32 expiry;
}

/// @dev A Merkle root committed for a lot. `committedAt == 0` means unknown.
struct LotRootView {
    BrandId brand;
    uint64 gtin;
    uint32 count;
    uint32 expiry;
    uint64 committedAt;
}

// ------------------------------------------------------------------------------------------------
// GS1 helpers (free functions: pure, no storage).
// ------------------------------------------------------------------------------------------------

/// @dev "/01/" in the four most significant bytes of a word.
uint256 constant GS1_PATH_GTIN = 0x2f30312f << 224;
/// @dev "/21/" (serial) and "/10/" (lot) at bytes 18..21 of a word, right after "/01/" + 14 digits.
uint256 constant GS1_PATH_SERIAL = 0x2f32312f << 80;
uint256 constant GS1_PATH_LOT = 0x2f31302f << 80;
/// @dev Length of "/01/" + 14 digits + "/21/" (or "/10/"): where the serial or lot code starts.
uint256 constant GS1_PATH_PREFIX_LENGTH = 22;
/// @dev One more than the largest GTIN-14.
uint64 constant GTIN_LIMIT = 1e14;

/**
 * @dev Whether `gtin` is a GTIN-14 (below 10^14, not zero) with a correct GS1 mod-10 check digit.
 * Weights 3, 1, 3, ... apply from the digit left of the check digit towards the indicator.
 */
function gs1GtinIsValid(uint64 gtin) pure returns (bool) {
    if (gtin == 0 || gtin >= GTIN_LIMIT) return false;
    uint256 rest = gtin / 10;
    uint256 sum;
    // Safe: at most 13 digits, each weighted at most 3, so `sum` stays below 400.
    unchecked {
        for (uint256 weight = 3; rest != 0; weight = 4 - weight) {
            sum += (rest % 10) * weight;
            rest /= 10;
        }
    }
    return (10 - (sum % 10)) % 10 == gtin % 10;
}

/**
 * @dev The word `"/01/" ++ 14 ASCII digits of gtin` followed by zero bytes: the first 18 bytes of
 * both paths. OR in {GS1_PATH_SERIAL} or {GS1_PATH_LOT} to get the 22-byte prefix. `gtin` must be
 * below 10^14 (higher digits would be dropped).
 */
function gs1GtinPath(uint64 gtin) pure returns (uint256 word) {
    assembly ("memory-safe") {
        // The 7 base-100 digits of `gtin`, one per 16-bit lane, the last two digits in lane 0.
        let g := gtin
        let x := mod(g, 100)
        g := div(g, 100)
        x := or(x, shl(16, mod(g, 100)))
        g := div(g, 100)
        x := or(x, shl(32, mod(g, 100)))
        g := div(g, 100)
        x := or(x, shl(48, mod(g, 100)))
        g := div(g, 100)
        x := or(x, shl(64, mod(g, 100)))
        g := div(g, 100)
        x := or(x, shl(80, mod(g, 100)))
        g := div(g, 100)
        x := or(x, shl(96, mod(g, 100)))
        // In every lane at once, r (< 100) becomes the byte pair (r / 10, r % 10), that is
        // r + 246 * (r / 10), with r / 10 = (r * 205) >> 11 (exact for r < 100). No lane carries:
        // r * 205 < 2^15; after the shift each lane's bits 5..15 hold the next lane's low bits,
        // masked off (r / 10 < 32); 246 * 9 + 99 < 2^16.
        x := add(x, mul(246, and(shr(11, mul(x, 205)), 0x001f001f001f001f001f001f001f)))
        // Each byte now holds 0..9; OR-ing 0x30 ('0') into all 14 makes them ASCII. "/01/" goes
        // in bytes 0..3, the digits in bytes 4..17.
        word := or(GS1_PATH_GTIN, shl(112, or(x, 0x3030303030303030303030303030)))
    }
}

/**
 * @dev Length in bytes of a serial or lot code held left aligned and zero padded in a `bytes32`,
 * or 0 when it is not 1..20 bytes long (all zero, or a nonzero byte among the last 12).
 */
function gs1CodeLength(bytes32 code) pure returns (uint256 length) {
    assembly ("memory-safe") {
        // Valid iff nonzero and bytes 20..31 are zero.
        if iszero(or(iszero(code), shl(160, code))) {
            // Count the trailing zero bytes of the first 20 bytes by binary search (16, 8, 4, 2,
            // 1 bytes). `v` is nonzero, so at most 19 bytes are found.
            let v := shr(96, code)
            let z := shl(7, iszero(and(v, 0xffffffffffffffffffffffffffffffff)))
            v := shr(z, v)
            let t := shl(6, iszero(and(v, 0xffffffffffffffff)))
            v := shr(t, v)
            z := add(z, t)
            t := shl(5, iszero(and(v, 0xffffffff)))
            v := shr(t, v)
            z := add(z, t)
            t := shl(4, iszero(and(v, 0xffff)))
            v := shr(t, v)
            z := add(z, t)
            z := add(z, shl(3, iszero(and(v, 0xff))))
            length := sub(20, shr(3, z))
        }
    }
}

/**
 * @dev keccak256 of the 22-byte path prefix `prefix` (from {gs1GtinPath} OR an AI) followed by
 * the first `length` bytes of `code`. Uses memory past the free memory pointer as scratch.
 */
function gs1PathHash(uint256 prefix, bytes32 code, uint256 length) pure returns (bytes32 hash) {
    assembly ("memory-safe") {
        let buf := mload(0x40)
        mstore(buf, prefix)
        mstore(add(buf, GS1_PATH_PREFIX_LENGTH), code)
        hash := keccak256(buf, add(GS1_PATH_PREFIX_LENGTH, length))
    }
}

/**
 * @dev Whether `expiry` is 0 or a plausible YYMMDD: month 1..12, day 0..31 (GS1 uses day 00 for
 * "end of month").
 */
function gs1ExpiryIsValid(uint32 expiry) pure returns (bool valid) {
    assembly ("memory-safe") {
        // month - 1 < 12 (unsigned) rules out month 0; the day is expiry % 100.
        valid := or(
            iszero(expiry),
            and(and(lt(expiry, 991232), lt(sub(mod(div(expiry, 100), 100), 1), 12)), lt(mod(expiry, 100), 32))
        )
    }
}

/**
 * @dev `keccak256(abi.encode(tag, id))` for a string `tag` shorter than 32 bytes, passed left
 * aligned in a word with its `length`: the encoding is the words [0x40, id, length, tag]. Used for
 * the per-brand role ids, which sit on every write path. `id` is masked to its 32 bits: Solidity
 * does not promise clean high bits of a narrow value in assembly (a `uint32(word >> 48)` may
 * arrive as the whole shifted word).
 */
function brandRoleId(bytes32 tag, uint256 length, BrandId id) pure returns (bytes32 role) {
    assembly ("memory-safe") {
        let m := mload(0x40)
        mstore(m, 0x40)
        mstore(add(m, 0x20), and(id, 0xffffffff))
        mstore(add(m, 0x40), length)
        mstore(add(m, 0x60), tag)
        role := keccak256(m, 0x80)
    }
}

/**
 * @dev Key of a GS1 company prefix: its length in bits 64.. and its numeric value below, so that
 * "0950" and "950" differ. 0 when `prefix` is not 4..12 ASCII digits.
 */
function gs1PrefixKey(bytes memory prefix) pure returns (uint256 key) {
    uint256 length = prefix.length;
    if (length < 4 || length > 12) return 0;
    uint256 value;
    for (uint256 i; i < length; ++i) {
        uint8 c = uint8(prefix[i]);
        if (c < 48 || c > 57) return 0;
        // Safe: at most 12 digits, far below 2^256.
        unchecked {
            value = value * 10 + (c - 48);
        }
    }
    return (length << 64) | value;
}

/// @dev The company prefix held in `key` (see {gs1PrefixKey}) as a zero-padded digit string.
function gs1PrefixString(uint256 key) pure returns (string memory) {
    uint256 length = key >> 64;
    uint256 value = uint64(key);
    bytes memory out = new bytes(length);
    // Safe: `i` runs from `length` (at most 12) down to 1.
    unchecked {
        for (uint256 i = length; i != 0; --i) {
            out[i - 1] = bytes1(uint8(48 + (value % 10)));
            value /= 10;
        }
    }
    return string(out);
}

// ------------------------------------------------------------------------------------------------
// Traceability (ITraceLedger): chain subjects, entries and actors.
// ------------------------------------------------------------------------------------------------

/*
 * A traceability subject is a bytes32 id, the keccak256 of the unescaped GS1 Digital Link path of
 * what the event is about:
 *
 * - item            `keccak256("/01/" ++ 14 GTIN digits ++ "/21/" ++ serial)` (= ItemId)
 * - lot             `keccak256("/01/" ++ 14 GTIN digits ++ "/10/" ++ lot)`    (= LotId)
 * - product class   `keccak256("/01/" ++ 14 GTIN digits)`
 * - container       `keccak256("/00/" ++ 18 SSCC digits)`
 *
 * Other ids (locations, assets, transformation ids) are opaque and appear as `related` ids only.
 */

/// @dev {Binding.kind} of an item: `code` is its serial (AI 21), left aligned and zero padded.
uint8 constant BINDING_ITEM = 1;
/// @dev {Binding.kind} of a lot: `code` is its lot code (AI 10), left aligned and zero padded.
uint8 constant BINDING_LOT = 2;
/// @dev {Binding.kind} of a product class (GTIN): `code` is 0.
uint8 constant BINDING_PRODUCT = 3;
/// @dev {Binding.kind} of a logistic unit (SSCC, AI 00): `code` holds the 18 digits as ASCII,
/// left aligned and zero padded; `gtin` is 0.
uint8 constant BINDING_CONTAINER = 4;
/// @dev {Binding.kind} of any other GS1-identified subject (a returnable or individual asset, a
/// document, a location…): `code` is the keccak256 of its Digital Link path (which can be longer
/// than one word) and its id is `keccak256(abi.encode(TRACE_ASSET_DOMAIN, code))`, which the
/// ledger recomputes: an asset's id is never an item's, lot's, product's or container's, so no
/// brand can start an "asset" chain on another brand's goods. `gtin` is 0. Like a container, it
/// lives in the recording brand's namespace.
uint8 constant BINDING_ASSET = 5;
/// @dev Domain of asset subject ids (see BINDING_ASSET): `keccak256("o2ochain.trace.asset")`.
bytes32 constant TRACE_ASSET_DOMAIN = keccak256("o2ochain.trace.asset");

/// @dev Kinds of supply-chain actor: farm or grower.
uint8 constant ACTOR_GROWER = 1;
/// @dev Plant or processor.
uint8 constant ACTOR_PROCESSOR = 2;
/// @dev Logistics provider (carrier, warehouse, 3PL).
uint8 constant ACTOR_LOGISTICS = 3;
/// @dev Store or retailer.
uint8 constant ACTOR_RETAIL = 4;
/// @dev Any other actor.
uint8 constant ACTOR_OTHER = 5;

/**
 * @dev What a subject is, so that the ledger can recompute its id and check that it belongs to the
 * recording brand. Read on the first entry of a (brand, subject) chain only; pass zeros later.
 */
struct Binding {
    /// One of BINDING_ITEM, BINDING_LOT, BINDING_PRODUCT, BINDING_CONTAINER, BINDING_ASSET.
    uint8 kind;
    /// The GTIN of an item, lot or product class (its 14-digit form as a number); 0 for a
    /// container or an asset.
    uint64 gtin;
    /// Serial, lot code or SSCC digits, ASCII left aligned and zero padded; 0 for a product class;
    /// the keccak256 of the Digital Link path for an asset.
    bytes32 code;
}

/**
 * @dev One traceability entry: an EPCIS 2.0 event as it concerns one subject. The full event stays
 * off chain; its hash, its what / when / why and its where are anchored here.
 */
struct Entry {
    /// The subject's id (see above).
    bytes32 subject;
    /// keccak256 of the full EPCIS event (canonical JSON); never 0.
    bytes32 content;
    /// Event type, action, business step, disposition, event time, time zone offset and flags,
    /// packed by the library; opaque to the ledger.
    bytes32 meta;
    /// Id of the read point (derived from its SGLN), 0 when none.
    bytes32 readPoint;
    /// Id of the business location (derived from its SGLN), 0 when none.
    bytes32 bizLocation;
    /// keccak256 of the EPCIS eventID, 0 when none. An error declaration names here the event it corrects.
    bytes32 eventId;
    /// What the subject is: checked on the subject's first entry for the brand, ignored later.
    Binding binding;
    /// Children (aggregation), inputs (transformation) or other subjects of the event.
    bytes32[] related;
}

/// @dev An actor of a brand. `kind == 0` means never granted.
struct ActorView {
    bool active;
    uint8 kind;
    /// The actor's location id (derived from its GLN), 0 when none.
    bytes32 location;
    /// Block of the latest grant.
    uint64 grantedAt;
    /// Block of the revocation that followed the latest grant, 0 while active.
    uint64 revokedAt;
}

/// @dev "/00/" (SSCC) in the four most significant bytes of a word.
uint256 constant GS1_PATH_SSCC = 0x2f30302f << 224;

/// @dev keccak256 of `"/01/" ++ 14 digits of gtin`: the id of a product class. `gtin` < 10^14.
function gs1ProductPathHash(uint64 gtin) pure returns (bytes32 hash) {
    uint256 path = gs1GtinPath(gtin);
    assembly ("memory-safe") {
        mstore(0x00, path)
        hash := keccak256(0x00, 18)
    }
}

/**
 * @dev Whether `code` holds an SSCC: 18 ASCII digits, left aligned, the other 14 bytes zero, with
 * a correct GS1 mod-10 check digit (weights 3, 1, 3, ... from the digit left of the check digit).
 */
function gs1SsccIsValid(bytes32 code) pure returns (bool) {
    uint256 word = uint256(code);
    if (word << 144 != 0) return false;
    word >>= 112; // the 18 digits, the check digit in the lowest byte
    // Safe: a byte below '0' makes `byte - 48` wrap to a huge number, refused by the same test as
    // a byte above '9'; 17 digits weighted at most 3 keep `sum` below 500.
    unchecked {
        uint256 check = (word & 0xff) - 48;
        if (check > 9) return false;
        uint256 sum;
        uint256 weight = 3;
        for (uint256 i; i < 17; ++i) {
            word >>= 8;
            uint256 digit = (word & 0xff) - 48;
            if (digit > 9) return false;
            sum += digit * weight;
            weight = 4 - weight;
        }
        return (10 - (sum % 10)) % 10 == check;
    }
}

/// @dev keccak256 of `"/00/" ++ the 18 SSCC digits held in code` (see {gs1SsccIsValid}).
function gs1SsccPathHash(bytes32 code) pure returns (bytes32 hash) {
    assembly ("memory-safe") {
        mstore(0x00, or(GS1_PATH_SSCC, shr(32, code)))
        hash := keccak256(0x00, 22)
    }
}

// ------------------------------------------------------------------------------------------------
// Consent (IConsentRegistry): purposes, personal-data categories, terms and data-use receipts.
// ------------------------------------------------------------------------------------------------

/*
 * Purposes and categories are bit numbers in a uint64 mask, in the spirit of ISO/IEC TS 27560
 * (consent records) and the W3C Data Privacy Vocabulary: a consent covers purpose `p` when bit `p`
 * of its `purposes` is set, and category `c` when bit `c` of its `categories` is set. Only the
 * bits below are known; a grant with any other bit set is refused, so that a later version can
 * give them a meaning without old consents silently covering it.
 */

/// @dev Purpose: fulfilling the consumer's order (payment, invoicing, after-sales).
uint8 constant PURPOSE_ORDER_FULFILMENT = 0;
/// @dev Purpose: delivering the goods (to a home address, a locker or a store).
uint8 constant PURPOSE_DELIVERY = 1;
/// @dev Purpose: personalised recommendations.
uint8 constant PURPOSE_PERSONALISED_RECOMMENDATIONS = 2;
/// @dev Purpose: direct marketing.
uint8 constant PURPOSE_MARKETING = 3;
/// @dev Purpose: analytics (service improvement, statistics).
uint8 constant PURPOSE_ANALYTICS = 4;
/// @dev Purpose: sharing the data with third parties.
uint8 constant PURPOSE_THIRD_PARTY_SHARING = 5;
/// @dev Mask of the known purpose bits (0..5).
uint64 constant PURPOSES_KNOWN = 0x3f;

/// @dev Category: contact details (e-mail, phone).
uint8 constant CATEGORY_CONTACT = 0;
/// @dev Category: postal address.
uint8 constant CATEGORY_POSTAL_ADDRESS = 1;
/// @dev Category: purchase history.
uint8 constant CATEGORY_PURCHASE_HISTORY = 2;
/// @dev Category: location.
uint8 constant CATEGORY_LOCATION = 3;
/// @dev Category: payment details.
uint8 constant CATEGORY_PAYMENT = 4;
/// @dev Category: demographics (age band, gender).
uint8 constant CATEGORY_DEMOGRAPHICS = 5;
/// @dev Category: preferences and interests.
uint8 constant CATEGORY_PREFERENCES = 6;
/// @dev Category: device identifiers.
uint8 constant CATEGORY_DEVICE_IDENTIFIERS = 7;
/// @dev Mask of the known category bits (0..7).
uint64 constant CATEGORIES_KNOWN = 0xff;

/**
 * @dev The terms of a consent of `consumer` to `dataUser`, as granted directly or signed (EIP-712
 * `Grant`, see IConsentRegistry). `notice`, `language` and `dataHash` are logged, not stored.
 */
struct Terms {
    /// The consumer: the data subject, identified by their address.
    address consumer;
    /// The data user (a retailer) the consent is given to.
    address dataUser;
    /// Mask of purpose bits (PURPOSE_*), nonzero, known bits only.
    uint64 purposes;
    /// Mask of category bits (CATEGORY_*), nonzero, known bits only.
    uint64 categories;
    /// Unix time (seconds) from which the consent is no longer live; after now, below 2^40.
    uint64 expiry;
    /// keccak256 of the privacy notice the consumer was shown.
    bytes32 notice;
    /// BCP 47 language tag of the notice, ASCII, left aligned, zero padded ("zh-CN").
    bytes8 language;
    /// Commitment to the encrypted personal data handed over with the consent, 0 when none.
    bytes32 dataHash;
}

/// @dev One use of a consumer's data, recorded by the data user (see IConsentRegistry.recordUses).
struct DataUse {
    address consumer;
    /// Purpose bit number (PURPOSE_*).
    uint8 purpose;
    /// Category bit number (CATEGORY_*).
    uint8 category;
    /// keccak256 of the data user's request (off chain), binding the receipt to it.
    bytes32 requestHash;
}

/// @dev The consent of a consumer to a data user as stored. `grantedAt == 0` means never granted.
struct ConsentView {
    /// Purpose mask of the latest grant (kept after a revocation, for the record).
    uint64 purposes;
    /// Category mask of the latest grant.
    uint64 categories;
    /// Expiry of the latest grant (unix seconds).
    uint64 expiry;
    /// Number of grants and revocations of the pair so far; a signature must carry this value.
    uint32 nonce;
    /// Revoked since the latest grant (may be true with `grantedAt == 0`: a revocation before any grant).
    bool revoked;
    /// Block of the latest grant, 0 when never granted.
    uint64 grantedAt;
    /// Granted, not revoked and `expiry` after the current block's timestamp.
    bool live;
}

// ------------------------------------------------------------------------------------------------
// Price guarantee (IPriceGuarantee): retailers, channels, policies, offers, purchases and the pool.
// ------------------------------------------------------------------------------------------------

/*
 * Amounts (prices, compensation, pool balances) are in base units of the retailer's one currency:
 * wei for the native coin (`currency == address(0)`), the token's smallest unit for an ERC-20.
 * Times are unix seconds (block timestamps) in 40 bits.
 */

/// @dev A retailer, numbered from 1 in order of registration; 0 is "no retailer".
type RetailerId is uint32;
/// @dev A sales channel of a retailer (online shop, store, marketplace, app), numbered from 1
/// across all retailers; 0 is "no channel".
type ChannelId is uint32;
/// @dev A guarantee policy record, numbered from 1 across all retailers; 0 is "no policy".
type PolicyId is uint32;
/// @dev One sale: `keccak256(abi.encode(uint32 retailer, bytes32 receiptHash))`.
type PurchaseId is bytes32;

using {_retailerEq as ==, _retailerNeq as !=} for RetailerId global;
using {_channelEq as ==, _channelNeq as !=} for ChannelId global;

function _retailerEq(RetailerId a, RetailerId b) pure returns (bool) {
    return RetailerId.unwrap(a) == RetailerId.unwrap(b);
}

function _retailerNeq(RetailerId a, RetailerId b) pure returns (bool) {
    return RetailerId.unwrap(a) != RetailerId.unwrap(b);
}

function _channelEq(ChannelId a, ChannelId b) pure returns (bool) {
    return ChannelId.unwrap(a) == ChannelId.unwrap(b);
}

function _channelNeq(ChannelId a, ChannelId b) pure returns (bool) {
    return ChannelId.unwrap(a) != ChannelId.unwrap(b);
}

/// @dev Channel kind: an online shop (the retailer's own web site).
uint8 constant CHANNEL_ONLINE_SHOP = 1;
/// @dev Channel kind: a physical store.
uint8 constant CHANNEL_STORE = 2;
/// @dev Channel kind: a shop on a third-party marketplace.
uint8 constant CHANNEL_MARKETPLACE = 3;
/// @dev Channel kind: the retailer's mobile app.
uint8 constant CHANNEL_APP = 4;

/*
 * Price types are numbers 0..4; a policy excludes a set of them by the mask of their bits
 * (`1 << type`), so that a clearance sale or a declared price error need not be matched.
 */

/// @dev Price type: the regular shelf price.
uint8 constant PRICE_REGULAR = 0;
/// @dev Price type: a promotion (a time-limited discount).
uint8 constant PRICE_PROMOTION = 1;
/// @dev Price type: clearance (end of line, damaged packaging).
uint8 constant PRICE_CLEARANCE = 2;
/// @dev Price type: a limited-quantity offer (while stocks last).
uint8 constant PRICE_LIMITED_QUANTITY = 3;
/// @dev Price type: a price error, as declared by the retailer (IPriceGuarantee.declarePriceError)
/// or signed as such.
uint8 constant PRICE_ERROR = 4;
/// @dev Mask of the known price types (bits 0..4).
uint8 constant PRICE_TYPES_KNOWN = 0x1f;

/// @dev Longest guarantee window a policy may set: 366 days.
uint32 constant MAX_WINDOW = 366 days;
/// @dev How long after an offer's start the retailer may declare it a price error: 1 day.
uint40 constant PRICE_ERROR_DECLARATION_PERIOD = 1 days;
/// @dev How long an announced withdrawal waits before it may be executed: 1 day.
uint32 constant WITHDRAWAL_DELAY = 1 days;
/// @dev How long after a purchase is recorded before compensation for it is paid: the withdrawal
/// delay, so that no purchase a retailer records for itself takes money out of the pool sooner
/// than an announced withdrawal would (see IPriceGuarantee, "Why the pool holds").
uint32 constant PAYOUT_DELAY = WITHDRAWAL_DELAY;
/// @dev Notice a retailer gives of a policy change that reduces coverage: 7 days.
uint32 constant POLICY_NOTICE = 7 days;
/// @dev Longest grace a key rotation may give the receipts and vouchers the old key signed: 7 days.
uint32 constant MAX_KEY_GRACE = 7 days;

/**
 * @dev The one rule by which a message signed by a channel key (a price key, a till key, a
 * merchant's voucher key) is judged, in PriceGuarantee and CouponBook alike. A message signed "at"
 * `signedAt` (a quote's `validFrom`, a receipt's `purchasedAt`, a voucher's `validFrom`) by a key
 * that became live at `activeFrom` and was revoked at `revokedAt` (0: still live) with `grace`
 * seconds of grace is accepted now when:
 *
 * - the key was live at `signedAt` (`activeFrom <= signedAt`, and `signedAt < revokedAt` once
 *   revoked), and
 * - the key is live now, or `consumerHeld` (a receipt or voucher already handed to a consumer)
 *   and the rotation's grace has not run out (`block.timestamp < revokedAt + grace`).
 *
 * So a revoked key signs nothing that counts: what it signs after its revocation, back-dated or
 * not, is refused once the grace is over, and a rotation with no grace (a compromised key)
 * refuses at once everything the key ever signed that has not been used.
 */
function channelKeyAccepts(
    uint256 activeFrom,
    uint256 revokedAt,
    uint256 grace,
    uint256 signedAt,
    bool consumerHeld
) view returns (bool) {
    if (activeFrom == 0 || activeFrom > signedAt) return false; // never live, or not yet then
    if (revokedAt == 0) return true; // live now
    return signedAt < revokedAt && consumerHeld && block.timestamp < revokedAt + grace;
}

/**
 * @dev The terms of a guarantee policy (one storage word). A purchase is compensated for a
 * qualifying offer at `price` when `unitPrice - price` exceeds
 * `max(toleranceAmount, unitPrice * toleranceBps / 10_000)`, with at most `maxPayout` in all
 * (and at most the cover the pool reserved for it when it was recorded).
 */
struct PolicyTerms {
    /// Seconds after the purchase during which lower offers count; at most MAX_WINDOW. 0 means
    /// "no guarantee" for the scope of the policy.
    uint32 window;
    /// Tolerance as a fraction of the price paid, in basis points (at most 10,000).
    uint16 toleranceBps;
    /// Tolerance as an amount; the larger of the two tolerances applies.
    uint96 toleranceAmount;
    /// Most that one purchase is compensated in all; nonzero when `window` is.
    uint96 maxPayout;
    /// Mask of excluded price types (`1 << PRICE_*`), within PRICE_TYPES_KNOWN.
    uint8 excludedPriceTypes;
}

/// @dev A sale recorded by a channel key (IPriceGuarantee.recordPurchase); the channel, the time
/// and the policy come from the transaction.
struct Sale {
    /// Who is compensated: the consumer's address, never 0.
    address buyer;
    uint64 gtin;
    /// Number of units, at least 1.
    uint32 quantity;
    /// Price paid per unit, nonzero.
    uint96 unitPrice;
    /// keccak256 of the till receipt or order number (never personal data).
    bytes32 receiptHash;
}

/**
 * @dev A sale as a channel key states it (EIP-712 `Receipt` when signed, which anyone registers
 * with IPriceGuarantee.registerPurchase: the consumer's proof of purchase). Its id is
 * `PurchaseId = keccak256(abi.encode(receipt))`: the whole sale, buyer included, so a receipt
 * handed to a buyer can only ever be registered as that buyer's purchase, on its own terms.
 */
struct Receipt {
    RetailerId retailer;
    ChannelId channel;
    address buyer;
    uint64 gtin;
    uint32 quantity;
    uint96 unitPrice;
    /// When the sale was made (unix seconds); not in the future.
    uint40 purchasedAt;
    bytes32 receiptHash;
}

/**
 * @dev A recorded purchase, as logged by {PurchaseRecorded}: what a claim passes. Its first eight
 * fields are its {Receipt}, whose keccak256 is its id; the contract keeps only a 160-bit hash of
 * the whole struct (and the cover not yet claimed), so every field is bound.
 */
struct Purchase {
    RetailerId retailer;
    /// The channel the sale was made on (offers of any channel of the retailer count).
    ChannelId channel;
    address buyer;
    uint64 gtin;
    uint32 quantity;
    uint96 unitPrice;
    uint40 purchasedAt;
    bytes32 receiptHash;
    /// The policy in effect for the sale's GTIN at `purchasedAt`, 0 when none.
    PolicyId policy;
    /// What the pool reserved for this purchase when it was recorded: the most it can ever be
    /// paid, `min(maxPayout, (unitPrice - 1) * quantity)` or less when the pool's free funds
    /// were short (0 when not covered).
    uint96 cover;
    /// When it was recorded on chain: compensation is paid from `recordedAt + PAYOUT_DELAY`.
    uint40 recordedAt;
}

/**
 * @dev An offer signed by a channel key (EIP-712 `Quote`): a price shown to shoppers (a web page,
 * an app screen, a shelf label) from `validFrom` until `validUntil` (exclusive). It counts while
 * its key is live (see {channelKeyAccepts}); lodged on chain (IPriceGuarantee.lodgeQuote) it
 * counts like a published price. `nonce` only makes it unique.
 */
struct Quote {
    RetailerId retailer;
    ChannelId channel;
    uint64 gtin;
    /// The retailer's currency (address(0) for the native coin).
    address currency;
    uint96 price;
    /// One of PRICE_*.
    uint8 priceType;
    uint40 validFrom;
    uint40 validUntil;
    uint64 nonce;
}

/// @dev A channel key. A key serves one channel, once: `retailer == 0` means never used.
struct ChannelKey {
    RetailerId retailer;
    ChannelId channel;
    /// When the key became the channel's key.
    uint40 activeFrom;
    /// When it was replaced or revoked (exclusive), 0 while it is the channel's key.
    uint40 revokedAt;
    /// Seconds after `revokedAt` during which the receipts and vouchers it signed while live are
    /// still accepted (0: none, the key is treated as compromised).
    uint32 grace;
}

/// @dev A channel. `retailer == 0` means unknown; `key == 0` a channel without a key.
struct ChannelView {
    RetailerId retailer;
    address key;
    /// One of CHANNEL_*.
    uint8 kind;
}

/// @dev A policy record. `retailer == 0` means unknown.
struct PolicyView {
    RetailerId retailer;
    /// The product class it applies to, 0 for the retailer's default.
    uint64 gtin;
    /// From when it applies (to purchases made at or after `since`): when it was set, or
    /// POLICY_NOTICE later when it reduced the coverage then in effect.
    uint40 since;
    /// The record it replaced in the same (retailer, gtin) scope, 0 when none.
    PolicyId previous;
    PolicyTerms terms;
}

/// @dev A price published on chain (or a quote lodged), keyed by (channel, gtin, validFrom).
struct PriceView {
    bool published;
    uint96 price;
    /// One of PRICE_*; PRICE_ERROR once declared so.
    uint8 priceType;
    uint40 validUntil;
    /// When it was ended early (exclusive), 0 when not.
    uint40 endedAt;
    /// Whether it is a signed quote lodged on chain (which its channel cannot end early).
    bool lodged;
}

/// @dev A retailer's pool and settings.
struct RetailerView {
    /// address(0) for the native coin, else the ERC-20 it prices and pays in.
    address currency;
    /// Funds held in the pool: `funded - withdrawn - paid`.
    uint128 balance;
    /// The cover promised to recorded purchases and neither paid nor released yet: the pool's
    /// promised coverage. Only claims take from it; a withdrawal takes from the rest.
    uint128 reserved;
    /// Amount of the announced withdrawal, 0 when none is pending.
    uint128 withdrawalAmount;
    address withdrawalTo;
    /// When the announced withdrawal may be executed, 0 when none is pending.
    uint40 withdrawalAt;
    /// All funds ever received.
    uint128 funded;
    /// All compensation ever paid out of the pool (transferred or credited to buyers).
    uint128 paid;
    /// All funds ever withdrawn by the retailer.
    uint128 withdrawn;
}

// ------------------------------------------------------------------------------------------------
// Reviews (IReviewBoard): verified-buyer reviews of products and merchants, and merchant profiles.
// ------------------------------------------------------------------------------------------------

/// @dev A review: `keccak256(abi.encode(bytes32 ticket, uint8 subject))`, where the ticket is the
/// proof of buying it was posted with (a PurchaseId or an ItemId), so one ticket gives one review
/// per subject.
type ReviewId is bytes32;

/// @dev Review subject: the product class (GTIN) bought.
uint8 constant SUBJECT_PRODUCT = 1;
/// @dev Review subject: the merchant (the PriceGuarantee channel) the purchase was made on.
uint8 constant SUBJECT_MERCHANT = 2;

/// @dev Report reason: spam or advertising.
uint8 constant REPORT_SPAM = 1;
/// @dev Report reason: offensive or abusive content.
uint8 constant REPORT_OFFENSIVE = 2;
/// @dev Report reason: not about the product or merchant reviewed.
uint8 constant REPORT_OFF_TOPIC = 3;
/// @dev Report reason: a fake or paid review.
uint8 constant REPORT_FAKE = 4;
/// @dev Report reason: anything else.
uint8 constant REPORT_OTHER = 5;

/// @dev A review is folded (shown collapsed, never deleted) from this many reports on.
uint64 constant FOLD_REPORTS = 3;
/// @dev ... or when its not-helpful votes reach its helpful votes plus this margin.
uint64 constant FOLD_MARGIN = 3;

/**
 * @dev Proof that the caller bought what a review is about, to vote on or report it
 * (IReviewBoard.vote, .report): an item of the reviewed product the caller claimed as its first
 * buyer (`item != 0`; `purchase` is then ignored), or a purchase recorded by the guarantee whose
 * buyer is the caller: of the reviewed product from a seller its brand authorised, or, for a
 * merchant review, from the merchant's retailer.
 */
struct Ticket {
    ItemId item;
    Purchase purchase;
}

/// @dev A review as the board shows it. An unknown review has `posted == false` and zeros elsewhere.
/// When it was posted is the block of its `ReviewPosted` log.
struct ReviewView {
    bool posted;
    address author;
    /// 1..5, of the latest version.
    uint8 rating;
    /// 1 when posted, one more per edit (at most 255).
    uint16 version;
    /// SUBJECT_PRODUCT or SUBJECT_MERCHANT.
    uint8 subject;
    /// The channel the ticket's purchase was made on; 0 for a review of a claimed item.
    ChannelId merchant;
    /// The product reviewed, or bought (a merchant review: the low 48 bits of its GTIN).
    uint64 gtin;
    uint64 helpful;
    uint64 notHelpful;
    uint64 reports;
    /// `reports >= FOLD_REPORTS || notHelpful >= helpful + FOLD_MARGIN`.
    bool folded;
}

/// @dev A merchant's public profile (a shop's location is business data, not personal data).
/// `updatedAt == 0` means none was set. The profile document's `uri` is only logged.
struct MerchantProfile {
    /// The merchant channel's retailer when the profile was set.
    RetailerId retailer;
    /// keccak256 of the profile document (name, hours, photos...).
    bytes32 profileHash;
    /// GS1 Global Location Number of the shop (13 digits), 0 for none.
    uint64 gln;
    /// WGS 84 latitude and longitude in millionths of a degree.
    int32 latitudeE6;
    int32 longitudeE6;
    /// When the profile was last set (unix seconds).
    uint40 updatedAt;
}

// ------------------------------------------------------------------------------------------------
// Coupons (ICouponBook): campaigns and one-time vouchers redeemed in the shop.
// ------------------------------------------------------------------------------------------------

/// @dev Voucher kind: an amount off, `value` in base units of the retailer's currency.
uint8 constant VOUCHER_AMOUNT_OFF = 1;
/// @dev Voucher kind: a percentage off, `value` in basis points (1..10,000).
uint8 constant VOUCHER_PERCENT_OFF = 2;
/// @dev Most vouchers one campaign may issue: its ceil(180,000 / 255) = 706 bitmap words are
/// written when it is created, some 15.8M gas, which fits one transaction under the 16,777,216
/// gas cap of a transaction (EIP-7825) with room for the campaign's uri.
uint32 constant MAX_VOUCHERS = 180_000;

/**
 * @dev A voucher, signed off chain (EIP-712 `Voucher`) by a key of the campaign's merchant channel
 * and shown by the consumer as a QR code. Redeemable once, by a shop of the same retailer.
 */
struct Voucher {
    /// The campaign it belongs to.
    uint32 campaign;
    /// Its number in the campaign, 0..issued-1.
    uint32 index;
    /// VOUCHER_AMOUNT_OFF or VOUCHER_PERCENT_OFF.
    uint8 kind;
    /// The amount (base units) or the percentage (basis points) off.
    uint96 value;
    /// The product class it applies to, 0 for the whole store.
    uint64 gtin;
    /// First and last second (both inclusive) it may be redeemed; only within the campaign's.
    uint40 validFrom;
    uint40 validUntil;
}

/// @dev A campaign. `merchant == 0` means unknown.
struct CampaignView {
    /// The channel whose keys sign its vouchers.
    ChannelId merchant;
    /// The merchant's retailer: any of its channels may redeem the vouchers.
    RetailerId retailer;
    /// Number of vouchers it may sign: numbers 0..issued-1.
    uint32 issued;
    /// Number of vouchers redeemed so far (counted from the redemption bitmap by the view).
    uint32 redeemed;
    /// First and last second (both inclusive) its vouchers may be redeemed.
    uint40 validFrom;
    uint40 validUntil;
    /// keccak256 of the campaign's terms document.
    bytes32 termsHash;
}
