// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ERC165} from "@openzeppelin/contracts/utils/introspection/ERC165.sol";

import {IProductRegistry} from "./interfaces/IProductRegistry.sol";
import {ITraceLedger} from "./interfaces/ITraceLedger.sol";
import {
    ACTOR_OTHER,
    ActorView,
    BINDING_ASSET,
    BINDING_CONTAINER,
    BINDING_ITEM,
    BINDING_LOT,
    BINDING_PRODUCT,
    Binding,
    BrandId,
    Entry,
    GS1_PATH_LOT,
    GS1_PATH_SERIAL,
    TRACE_ASSET_DOMAIN,
    gs1CodeLength,
    gs1GtinPath,
    gs1PathHash,
    gs1ProductPathHash,
    gs1SsccIsValid,
    gs1SsccPathHash
} from "./Types.sol";

/**
 * @dev Traceability ledger of o2ochain: see {ITraceLedger} for what it does, who may do it and the
 * head formula. Deploy with the {IProductRegistry} whose brands it serves; it has no admin of its
 * own: a brand's admin in the registry administers the brand's actors here.
 *
 * Gas. An entry on a chain with history costs one SLOAD and one SSTORE of the chain's head (a
 * nonzero-to-nonzero write), one keccak256 of eight words, the {Recorded} log and the calldata;
 * the caller's authorisation is read once per call. A chain's first entry adds the zero-to-nonzero
 * write, the subject's recomputation and, but for a container, the product's brand. That brand is
 * copied from the registry into {_productBrands} the first time the ledger meets the GTIN (one
 * registry call and one new slot per product class); a product's brand never changes in the
 * registry, so later first entries read the copy: one SLOAD instead of a call to a cold account
 * and a cold SLOAD there (about 3,300 gas less on every item's first entry). Each related id
 * costs one {Linked} log (LOG4 with one data word) and its 32 bytes of calldata.
 */
contract TraceLedger is ITraceLedger, ERC165 {
    /// @dev An actor of a brand; word bits: active 0, kind 8..15, grantedAt 16..79, revokedAt
    /// 80..143. Its location is kept apart ({_locations}): a bytes32 does not fit beside the rest,
    /// and {record} reads the authorisation only.
    struct ActorRecord {
        bool active;
        uint8 kind;
        uint64 grantedAt;
        uint64 revokedAt;
    }

    /// @dev {ActorRecord.active} bit of a packed actor word.
    uint256 private constant ACTOR_ACTIVE = 1;
    /// @dev Mask of the entry count in a head word.
    uint256 private constant COUNT_MASK = 0xffffffffffffffff;

    /// @dev The registry: brands, brand admin roles and the brand of each product.
    IProductRegistry private immutable _registry;

    /// @dev The chains' heads. Slot 0, so the head of (brand, subject) is at storage slot
    /// `keccak256(abi.encode(subject, keccak256(abi.encode(brand, 0))))` (for eth_getProof).
    mapping(BrandId brand => mapping(bytes32 subject => uint256 head)) private _heads;
    mapping(BrandId brand => mapping(address account => uint256 record)) private _actors; // packed ActorRecord
    mapping(BrandId brand => mapping(address account => bytes32 location)) private _locations;
    mapping(BrandId brand => mapping(address account => bytes32 profileHash)) private _profiles;
    /// @dev The brand of each product (GTIN) met by a chain's first entry, as the registry has it.
    mapping(uint64 gtin => BrandId brand) private _productBrands;

    /// @param registry_ The product registry whose brands this ledger serves.
    constructor(IProductRegistry registry_) {
        _registry = registry_;
    }

    /// @dev Caller must hold the brand admin role of `brand` in the registry.
    modifier onlyBrandAdmin(BrandId brand) {
        _checkBrandAdmin(brand);
        _;
    }

    // --------------------------------------------------------------------------------------------
    // Actors
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc ITraceLedger
    function grantActor(BrandId brand, address account, uint8 kind, bytes32 location)
        external
        onlyBrandAdmin(brand)
    {
        if (account == address(0)) revert TraceActorInvalid(account);
        if (kind == 0 || kind > ACTOR_OTHER) revert TraceActorKindInvalid(kind);
        _actors[brand][account] = _packActor(true, kind, uint64(block.number), 0);
        if (_locations[brand][account] != location) _locations[brand][account] = location;
        emit ActorGranted(brand, account, kind, location);
    }

    /// @inheritdoc ITraceLedger
    function revokeActor(BrandId brand, address account) external onlyBrandAdmin(brand) {
        uint256 word = _actors[brand][account];
        if (word & ACTOR_ACTIVE == 0) revert TraceNotActor(brand, account);
        ActorRecord memory r = _unpackActor(word);
        _actors[brand][account] = _packActor(false, r.kind, r.grantedAt, uint64(block.number));
        emit ActorRevoked(brand, account, msg.sender);
    }

    /// @inheritdoc ITraceLedger
    function setRepository(BrandId brand, string calldata uri) external {
        if (_actors[brand][msg.sender] & ACTOR_ACTIVE == 0) revert TraceNotActor(brand, msg.sender);
        emit RepositorySet(brand, msg.sender, uri);
    }

    /// @inheritdoc ITraceLedger
    function setActorProfile(BrandId brand, address account, bytes32 profileHash, string calldata uri)
        external
        onlyBrandAdmin(brand)
    {
        if (_actors[brand][account] == 0) revert TraceActorInvalid(account);
        _profiles[brand][account] = profileHash;
        emit ActorProfileSet(brand, account, profileHash, uri);
    }

    // --------------------------------------------------------------------------------------------
    // Recording
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc ITraceLedger
    function record(BrandId brand, Entry[] calldata entries) external {
        if (entries.length == 0) revert TraceBatchEmpty();
        if (_actors[brand][msg.sender] & ACTOR_ACTIVE == 0) revert TraceNotActor(brand, msg.sender);
        mapping(bytes32 subject => uint256 head) storage chains = _heads[brand];
        for (uint256 i; i < entries.length; ++i) {
            _record(chains, brand, entries[i]);
        }
    }

    // --------------------------------------------------------------------------------------------
    // Views
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc ITraceLedger
    function head(BrandId brand, bytes32 subject) external view returns (bytes32 current, uint64 count) {
        uint256 word = _heads[brand][subject];
        return (bytes32(word), uint64(word));
    }

    /// @inheritdoc ITraceLedger
    function heads(BrandId brand, bytes32[] calldata subjects)
        external
        view
        returns (bytes32[] memory current, uint64[] memory counts)
    {
        mapping(bytes32 subject => uint256 head) storage chains = _heads[brand];
        current = new bytes32[](subjects.length);
        counts = new uint64[](subjects.length);
        for (uint256 i; i < subjects.length; ++i) {
            uint256 word = chains[subjects[i]];
            current[i] = bytes32(word);
            counts[i] = uint64(word);
        }
    }

    /// @inheritdoc ITraceLedger
    function actor(BrandId brand, address account) external view returns (ActorView memory v) {
        ActorRecord memory r = _unpackActor(_actors[brand][account]);
        v.active = r.active;
        v.kind = r.kind;
        v.location = _locations[brand][account];
        v.grantedAt = r.grantedAt;
        v.revokedAt = r.revokedAt;
    }

    /// @inheritdoc ITraceLedger
    function actorProfile(BrandId brand, address account) external view returns (bytes32) {
        return _profiles[brand][account];
    }

    /// @inheritdoc ITraceLedger
    function registry() external view returns (IProductRegistry) {
        return _registry;
    }

    /// @inheritdoc ITraceLedger
    function version() external pure returns (string memory) {
        return "0.1.0";
    }

    /// @dev ERC-165: ITraceLedger and IERC165.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(ITraceLedger).interfaceId || super.supportsInterface(interfaceId);
    }

    // --------------------------------------------------------------------------------------------
    // Internal
    // --------------------------------------------------------------------------------------------

    /**
     * @dev Appends entry `e` to its chain in `chains` (the chains of `brand`) and emits its logs.
     * Binds the subject first when the chain is empty.
     */
    function _record(mapping(bytes32 subject => uint256 head) storage chains, BrandId brand, Entry calldata e)
        private
    {
        bytes32 subject = e.subject;
        if (e.content == 0) revert TraceContentEmpty(subject);
        uint256 prev = chains[subject];
        if (prev == 0) _bind(brand, subject, e.binding);
        bytes32[] calldata related = e.related;
        bytes32 recordedTopic = Recorded.selector;
        bytes32 linkedTopic = Linked.selector;
        uint256 next;
        assembly ("memory-safe") {
            // Scratch memory past the free memory pointer: nothing is allocated here. It holds
            // the eight words hashed into the head, words 1..5 of which are the Recorded data.
            let m := mload(0x40)
            // relatedHash: keccak256 of the ids as they are in calldata (32 bytes each), 0 if none.
            let relatedHash := 0
            let size := shl(5, related.length)
            if size {
                calldatacopy(m, related.offset, size)
                relatedHash := keccak256(m, size)
            }
            // abi.encode(prev, content, meta, readPoint, bizLocation, eventId, relatedHash, caller):
            // content..eventId are the static words 1..5 of the entry in calldata. (calldatacopy
            // reads zeros past the end of calldata, as the getters `e.meta` etc. would.)
            mstore(m, prev)
            calldatacopy(add(m, 0x20), add(e, 0x20), 0xa0)
            mstore(add(m, 0xc0), relatedHash)
            mstore(add(m, 0xe0), caller())
            // The low 192 bits of the hash on top, the count below. Safe: count < 2^64 entries.
            next := or(shl(64, keccak256(m, 0x100)), add(and(prev, COUNT_MASK), 1))
            // emit Recorded(subject, brand, caller, content, meta, readPoint, bizLocation, eventId)
            let data := add(m, 0x20)
            log4(data, 0xa0, recordedTopic, subject, brand, caller())
            // emit Linked(related[j], subject, brand, content) for each related id, in order.
            let end := add(related.offset, size)
            for { let p := related.offset } lt(p, end) { p := add(p, 0x20) } {
                log4(data, 0x20, linkedTopic, calldataload(p), subject, brand)
            }
        }
        chains[subject] = next;
    }

    /**
     * @dev Checks that binding `b` describes `subject` and that the subject is `brand`'s; copies
     * the brand of a product met for the first time from the registry.
     */
    function _bind(BrandId brand, bytes32 subject, Binding calldata b) private {
        uint8 kind = b.kind;
        uint64 gtin = b.gtin;
        bytes32 code = b.code;
        bytes32 computed;
        if (kind == BINDING_ITEM || kind == BINDING_LOT) {
            uint256 length = gs1CodeLength(code);
            if (length == 0) revert TraceBindingInvalid(subject, kind);
            uint256 ai = kind == BINDING_ITEM ? GS1_PATH_SERIAL : GS1_PATH_LOT;
            computed = gs1PathHash(gs1GtinPath(gtin) | ai, code, length);
        } else if (kind == BINDING_PRODUCT) {
            if (code != 0) revert TraceBindingInvalid(subject, kind);
            computed = gs1ProductPathHash(gtin);
        } else if (kind == BINDING_CONTAINER) {
            if (gtin != 0 || !gs1SsccIsValid(code)) revert TraceBindingInvalid(subject, kind);
            computed = gs1SsccPathHash(code);
        } else if (kind == BINDING_ASSET) {
            if (gtin != 0 || code == 0) revert TraceBindingInvalid(subject, kind);
            computed = keccak256(abi.encode(TRACE_ASSET_DOMAIN, code));
        } else {
            revert TraceBindingInvalid(subject, kind);
        }
        if (computed != subject) revert TraceSubjectMismatch(subject, computed);
        // A container and an asset live in the recording brand's namespace: no registry check.
        if (kind == BINDING_CONTAINER || kind == BINDING_ASSET) return;
        // A GTIN of 10^14 or more renders as its low 14 digits in the path, but is never a
        // registered product: it is refused here (product brand 0).
        BrandId owner = _productBrands[gtin];
        if (BrandId.unwrap(owner) == 0) {
            owner = _registry.product(gtin).brand;
            if (owner != brand) revert TraceSubjectNotOfBrand(subject, brand, owner);
            _productBrands[gtin] = owner;
        } else if (owner != brand) {
            revert TraceSubjectNotOfBrand(subject, brand, owner);
        }
    }

    /**
     * @dev Reverts with {TraceNotBrandAdmin} unless the caller is a brand admin of `brand`. Brand 0
     * ("no brand", the brand of an unknown product) has no admin, so it never has actors.
     */
    function _checkBrandAdmin(BrandId brand) private view {
        if (
            BrandId.unwrap(brand) == 0
                || !IAccessControl(address(_registry)).hasRole(_registry.brandAdminRole(brand), msg.sender)
        ) revert TraceNotBrandAdmin(brand, msg.sender);
    }

    // --------------------------------------------------------------------------------------------
    // Internal: packed records (layouts in the struct comments)
    // --------------------------------------------------------------------------------------------

    function _packActor(bool active, uint8 kind, uint64 grantedAt, uint64 revokedAt) private pure returns (uint256) {
        return (active ? ACTOR_ACTIVE : 0) | (uint256(kind) << 8) | (uint256(grantedAt) << 16)
            | (uint256(revokedAt) << 80);
    }

    function _unpackActor(uint256 word) private pure returns (ActorRecord memory r) {
        r.active = word & ACTOR_ACTIVE != 0;
        r.kind = uint8(word >> 8);
        r.grantedAt = uint64(word >> 16);
        r.revokedAt = uint64(word >> 80);
    }
}
