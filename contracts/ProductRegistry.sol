// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";

import {IProductRegistry} from "./interfaces/IProductRegistry.sol";
import {
    BrandId,
    BrandView,
    GS1_PATH_LOT,
    GS1_PATH_SERIAL,
    ItemBatch,
    ItemId,
    ItemStatus,
    ItemView,
    LineView,
    LotId,
    LotRootView,
    LotView,
    MerkleItem,
    ProductView,
    brandRoleId,
    gs1CodeLength,
    gs1ExpiryIsValid,
    gs1GtinIsValid,
    gs1GtinPath,
    gs1PathHash,
    gs1PrefixKey,
    gs1PrefixString
} from "./Types.sol";

/**
 * @dev Product identity registry of o2ochain: see {IProductRegistry} for what it does and who may
 * do it. Deploy with the registry admin (`DEFAULT_ADMIN_ROLE`), who then registers brands.
 *
 * Storage is laid out for the gas of the high-volume writes. The records written on those paths
 * are kept as packed `uint256` words, each with a struct documenting it and a `_pack…` /
 * `_unpack…` pair (one SLOAD or SSTORE per record, where Solidity's packed structs would read
 * and write field by field):
 *
 * - an explicit item costs one new slot ({ItemRecord}), written in an assembly loop that hashes
 *   only the serial per item, the GTIN digits being rendered once per batch;
 * - a lot costs two new slots when created: {LotRecord} keyed by LotId (what a batch must
 *   check) and {LotRef} keyed by the lot's index (what a claim, recall or scan of one of its
 *   items must read: lot code, GTIN, brand, recalled). An item refers to its lot by index;
 * - a Merkle root costs one new slot ({RootRecord}); nothing else is read or written but the
 *   product (for its brand) and the caller's role ({commitLot}), or from a line the one
 *   {LineLot} word of the caller and the lot ({commitLineRoot});
 * - a production line is two words, written when it opens, after the checks of a batch: one per
 *   registrant key ({Line}: the lot's index and expiry, and the GTIN's item path prefix, so that
 *   no GTIN digits are rendered per item), and one per key and lot ({LineLot}: the lot's brand,
 *   GTIN, expiry and index, all a root record needs). {registerItem} reads the {Line} and the
 *   lot's {LotRef} (whether the lot was recalled since the line opened): two reads and one new
 *   slot per item. {commitLineRoot} reads the {LineLot} only: its being nonzero is the caller's
 *   right to commit for the lot, so one read and one new slot per root. The role is not read
 *   again: {_revokeRole} deletes both words of a key that loses the registrant role of the
 *   line's brand, as closing the line does.
 *
 * A lot's `recalled` flag is kept in both lot slots so that each path reads one of them only;
 * {recallLot} writes both.
 */
contract ProductRegistry is IProductRegistry, AccessControl, EIP712, Multicall {
    /// @dev One item; word bits: claimedBy 0..159, registeredAt 160..199, status 200..207,
    /// flags 208..215, lotIndex 216..255. Never zero once written (status is not Unregistered).
    struct ItemRecord {
        address claimedBy;
        uint40 registeredAt;
        ItemStatus status;
        uint8 flags;
        uint40 lotIndex;
    }

    /// @dev A lot, keyed by LotId; word bits: index 0..39, createdAt 40..79, expiry 80..111,
    /// recalled 112. Never zero once written (index starts at 1).
    struct LotRecord {
        uint40 index;
        uint40 createdAt;
        uint32 expiry;
        bool recalled;
    }

    /// @dev A lot, keyed by its index; word bits: gtin 0..47 (< 10^14 < 2^47), brand 48..79,
    /// recalled 80, lot code 96..255 (a valid code has at most 20 bytes, left aligned, so the
    /// word's top 20 bytes are the code's bytes32 as is).
    struct LotRef {
        bytes32 code;
        uint48 gtin;
        BrandId brand;
        bool recalled;
    }

    /// @dev A Merkle root, keyed by root; word bits: brand 0..31, gtin 32..79, count 80..111,
    /// expiry 112..143, committedAt 144..183, lotTag 184..239. `lotTag` is the low 56 bits of the
    /// LotId the root was committed for, so that a proof must name that lot (a consistency
    /// check of the brand's own commitment, for which 56 bits are ample).
    struct RootRecord {
        BrandId brand;
        uint48 gtin;
        uint32 count;
        uint32 expiry;
        uint40 committedAt;
        uint56 lotTag;
    }

    /// @dev A registrant key's open line, keyed by the key; word bits: lotIndex 0..39, expiry
    /// 40..71, itemPrefix 80..255: the 22 bytes "/01/" ++ 14 GTIN digits ++ "/21/" that an item id
    /// hashes before the serial ({gs1GtinPath} | {GS1_PATH_SERIAL}); bits 112..255 are the GTIN
    /// path of the lot id. Never zero while open, zero when closed. The lot's brand, GTIN and code
    /// are in its {LotRef}, which every use of the line reads.
    struct Line {
        uint40 lotIndex;
        uint32 expiry;
        bytes22 itemPrefix;
    }

    /// @dev The lot of a registrant key's open line, keyed by {_lineLotKey}(key, LotId); word bits:
    /// brand 0..31, gtin 32..79, expiry 80..111, lotIndex 112..151. Written with the key's {Line}
    /// and deleted with it, so nonzero (lotIndex starts at 1) exactly while the key's line is open
    /// for that lot: {commitLineRoot} reads this word alone for the caller's right and the root's
    /// record.
    struct LineLot {
        BrandId brand;
        uint48 gtin;
        uint32 expiry;
        uint40 lotIndex;
    }

    struct ProductRecord {
        BrandId brand;
        uint40 registeredAt;
    }

    /// @dev A company prefix: its brand, and how many assigned prefixes start with it.
    struct PrefixRecord {
        BrandId brand;
        uint32 nested;
    }

    struct BrandRecord {
        uint40 registeredAt;
        string name;
        uint256[] prefixKeys;
    }

    /// @dev EIP-712 type of a seller's authorisation of a first-sale claim.
    bytes32 public constant CLAIM_TYPEHASH = keccak256("Claim(bytes32 item,address owner,uint256 deadline)");
    /// @dev Most items one Merkle root may commit: 2^20.
    uint32 public constant MAX_LOT_ITEMS = 1 << 20;
    /// @dev {ItemRecord.flags} bit of an item written by {proveItem}.
    uint8 private constant FLAG_MERKLE = 1;

    mapping(ItemId item => uint256 record) private _items; // packed ItemRecord
    mapping(ItemId item => bytes32 root) private _itemRoots; // Merkle items only
    mapping(LotId lot => uint256 record) private _lots; // packed LotRecord
    mapping(uint256 lotIndex => uint256 ref) private _lotRefs; // packed LotRef
    mapping(bytes32 root => uint256 record) private _roots; // packed RootRecord
    mapping(address registrant => uint256 line) private _lines; // packed Line
    mapping(bytes32 registrantAndLot => uint256 record) private _lineLots; // packed LineLot
    mapping(uint64 gtin => ProductRecord) private _products;
    mapping(uint256 prefixKey => PrefixRecord) private _prefixes;
    mapping(BrandId brand => BrandRecord) private _brands;
    /// @dev Both counters share one slot, which is nonzero as soon as a brand exists, so creating
    /// a lot updates a nonzero slot (5,000 gas, not 22,100).
    uint32 private _brandCount;
    uint40 private _lotCount;

    /// @param admin Registry admin: holds `DEFAULT_ADMIN_ROLE`, registers brands and prefixes.
    constructor(address admin) EIP712("o2ochain ProductRegistry", "1") {
        if (admin == address(0)) revert IdentityInvalidAdmin(admin);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // --------------------------------------------------------------------------------------------
    // Brands and products
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IProductRegistry
    function registerBrand(address admin, string calldata name, string[] calldata prefixes)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (BrandId id)
    {
        if (admin == address(0)) revert IdentityInvalidAdmin(admin);
        if (bytes(name).length == 0) revert IdentityBrandNameEmpty();
        id = BrandId.wrap(++_brandCount);
        BrandRecord storage record = _brands[id];
        record.registeredAt = uint40(block.number);
        record.name = name;
        bytes32 adminRole = brandAdminRole(id);
        // The brand admin role keeps DEFAULT_ADMIN_ROLE as its admin (the default of every role).
        _setRoleAdmin(registrantRole(id), adminRole);
        _setRoleAdmin(sellerRole(id), adminRole);
        _grantRole(adminRole, admin);
        emit BrandRegistered(id, admin, name);
        for (uint256 i; i < prefixes.length; ++i) {
            _assignPrefix(id, prefixes[i]);
        }
    }

    /// @inheritdoc IProductRegistry
    function assignCompanyPrefix(BrandId id, string calldata prefix) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_brands[id].registeredAt == 0) revert IdentityBrandUnknown(id);
        _assignPrefix(id, prefix);
    }

    /// @inheritdoc IProductRegistry
    function registerProduct(BrandId id, uint64 gtin, string calldata uri) external {
        if (_brands[id].registeredAt == 0) revert IdentityBrandUnknown(id);
        _checkBrandOperator(id);
        if (!gs1GtinIsValid(gtin)) revert IdentityGtinInvalid(gtin);
        BrandId existing = _products[gtin].brand;
        if (BrandId.unwrap(existing) != 0) revert IdentityProductAlreadyRegistered(gtin, existing);
        if (_prefixOwner(gtin) != id) revert IdentityGtinNotOfBrand(gtin, id);
        _products[gtin] = ProductRecord(id, uint40(block.number));
        emit ProductRegistered(gtin, id, uri);
    }

    // --------------------------------------------------------------------------------------------
    // Items: explicit batches and Merkle lots
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IProductRegistry
    function registerItems(ItemBatch[] calldata batches) external {
        // The brand whose registrant role the caller was last checked for: consecutive batches
        // of one brand check the role once.
        BrandId checked;
        for (uint256 i; i < batches.length; ++i) {
            ItemBatch calldata batch = batches[i];
            uint64 gtin = batch.gtin;
            BrandId id = _productBrand(gtin);
            if (id != checked) {
                _checkRole(registrantRole(id));
                checked = id;
            }
            uint256 count = batch.serials.length;
            if (count == 0) revert IdentityBatchEmpty(gtin, batch.lot);
            uint32 expiry = batch.expiry;
            if (!gs1ExpiryIsValid(expiry)) revert IdentityExpiryInvalid(expiry);

            uint256 path = _gtinPath(gtin);
            LotId lot = _lotIdAt(path, batch.lot);
            uint40 index = _useLot(lot, id, gtin, batch.lot, expiry);
            _writeItems(batch.serials, path | GS1_PATH_SERIAL, gtin, index);
            emit ItemsRegistered(id, lot, gtin, batch.lot, expiry, count);
        }
    }

    /// @inheritdoc IProductRegistry
    function commitLot(uint64 gtin, bytes32 lot, uint32 expiry, bytes32 root, uint32 count, string calldata uri)
        external
    {
        BrandId id = _productBrand(gtin);
        _checkRole(registrantRole(id));
        _checkRoot(root, count);
        if (!gs1ExpiryIsValid(expiry)) revert IdentityExpiryInvalid(expiry);
        _commitRoot(id, _lotIdAt(_gtinPath(gtin), lot), gtin, lot, expiry, root, count, uri);
    }

    // --------------------------------------------------------------------------------------------
    // Production lines
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IProductRegistry
    function openLine(uint64 gtin, bytes32 lot, uint32 expiry, string calldata manifests) external {
        BrandId id = _productBrand(gtin);
        _checkRole(registrantRole(id));
        if (!gs1ExpiryIsValid(expiry)) revert IdentityExpiryInvalid(expiry);
        uint256 path = _gtinPath(gtin);
        LotId lot_ = _lotIdAt(path, lot);
        uint40 index = _useLot(lot_, id, gtin, lot, expiry);
        address sender = _msgSender();
        uint256 previous = _lines[sender];
        if (previous != 0) _closeLine(sender, previous);
        _lines[sender] = _packLine(path | GS1_PATH_SERIAL, expiry, index);
        _lineLots[_lineLotKey(sender, lot_)] = _packLineLot(id, gtin, expiry, index);
        emit LineOpened(sender, id, lot_, gtin, lot, expiry, manifests);
    }

    /// @inheritdoc IProductRegistry
    function registerItem(bytes32 serial) external {
        address sender = _msgSender();
        uint256 word = _lines[sender];
        if (word == 0) revert IdentityNoOpenLine(sender);
        uint256 index = uint40(word); // Line.lotIndex
        uint256 ref = _lotRefs[index];
        if ((ref >> 80) & 1 != 0) revert IdentityLotRecalled(_lineLot(word, ref)); // LotRef.recalled
        uint256 length = gs1CodeLength(serial);
        if (length == 0) revert IdentitySerialInvalid(uint48(ref), serial);
        bytes32 item = gs1PathHash((word >> 80) << 80, serial, length); // Line.itemPrefix
        bytes32 topic = ItemRegistered.selector;
        bool taken;
        // The item's slot is hashed once for the check and the write (gas target of bench/gas.py).
        assembly ("memory-safe") {
            mstore(0x00, item)
            mstore(0x20, _items.slot)
            let slot := keccak256(0x00, 0x40)
            taken := sload(slot)
            if iszero(taken) {
                // ItemRecord: registeredAt = block, status = Active (1), lotIndex = index.
                sstore(slot, or(or(shl(160, number()), shl(200, 1)), shl(216, index)))
                log2(0, 0, topic, item)
            }
        }
        if (taken) revert IdentityItemAlreadyRegistered(ItemId.wrap(item));
    }

    /// @inheritdoc IProductRegistry
    function commitLineRoot(LotId lot, bytes32 root, uint32 count) external {
        address sender = _msgSender();
        // The caller's right and the lot's data in one cold read (gas target of bench/gas.py).
        uint256 word = _lineLots[_lineLotKey(sender, lot)];
        if (word == 0) _refuseLineRoot(sender, lot);
        _checkRoot(root, count);
        if (_roots[root] != 0) revert IdentityRootAlreadyCommitted(root);
        BrandId id = BrandId.wrap(uint32(word)); // LineLot.brand
        // LineLot.gtin and LineLot.expiry; the lot's tag is `lot`, which keyed the word.
        _roots[root] = _packRoot(id, uint48(word >> 32), count, uint32(word >> 80), uint40(block.number), lot);
        emit LineRootCommitted(id, lot, root, count);
    }

    /// @inheritdoc IProductRegistry
    function closeLine() external {
        address sender = _msgSender();
        uint256 word = _lines[sender];
        if (word == 0) revert IdentityNoOpenLine(sender);
        _closeLine(sender, word);
    }

    /// @inheritdoc IProductRegistry
    function proveItem(MerkleItem calldata m) external returns (ItemId item) {
        LotId lot;
        RootRecord memory root;
        (item, lot, root) = _checkMerkle(m);
        if (_items[item] != 0) revert IdentityItemAlreadyRegistered(item);
        uint40 index = uint40(_lots[lot]); // LotRecord.index, 0 when the lot has no record yet
        if (index == 0) index = _createLot(lot, root.brand, m.gtin, m.lot, root.expiry, false);
        _items[item] = _packItem(address(0), uint40(block.number), ItemStatus.Active, FLAG_MERKLE, index);
        _itemRoots[item] = m.root;
        emit ItemProven(item, m.root);
    }

    // --------------------------------------------------------------------------------------------
    // Status, claims and recalls
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IProductRegistry
    function claim(ItemId item, address owner) external {
        (uint256 word, ItemRecord memory record, LotRef memory ref) = _load(item);
        address sender = _msgSender();
        bytes32 seller = sellerRole(ref.brand);
        if (!hasRole(seller, sender) && !hasRole(registrantRole(ref.brand), sender)) {
            revert AccessControlUnauthorizedAccount(sender, seller);
        }
        _claim(item, word, record, ref, owner, sender);
    }

    /// @inheritdoc IProductRegistry
    function claimWithSignature(ItemId item, address owner, uint256 deadline, bytes calldata signature) external {
        if (block.timestamp > deadline) revert IdentitySignatureExpired(deadline, block.timestamp);
        (uint256 word, ItemRecord memory record, LotRef memory ref) = _load(item);
        address signer = ECDSA.recoverCalldata(_claimDigest(item, owner, deadline), signature);
        if (!hasRole(sellerRole(ref.brand), signer)) revert IdentitySignerNotSeller(signer, ref.brand);
        _claim(item, word, record, ref, owner, signer);
    }

    /// @inheritdoc IProductRegistry
    function recallItem(ItemId item, uint16 reason, bytes32 document) external {
        (, ItemRecord memory record, LotRef memory ref) = _load(item);
        _checkBrandOperator(ref.brand);
        if (record.status != ItemStatus.Active) revert IdentityItemNotActive(item, record.status);
        _items[item] =
            _packItem(record.claimedBy, record.registeredAt, ItemStatus.Recalled, record.flags, record.lotIndex);
        emit ItemRecalled(item, ref.brand, reason, document);
    }

    /// @inheritdoc IProductRegistry
    function recallLot(uint64 gtin, bytes32 lot, uint16 reason, bytes32 document) external {
        BrandId id = _productBrand(gtin);
        _checkBrandOperator(id);
        LotId lot_ = _lotIdAt(_gtinPath(gtin), lot);
        uint256 word = _lots[lot_];
        if (word == 0) {
            // A lot with no record: only the brand's admin may recall it ahead, so that a
            // registrant key cannot recall lot codes the brand never used (a registrant may still
            // register in a lot and recall it: registering is its job, and both are on record).
            if (!hasRole(brandAdminRole(id), _msgSender())) revert IdentityLotUnknown(lot_);
            _createLot(lot_, id, gtin, lot, 0, true);
        } else {
            LotRecord memory record = _unpackLot(word);
            if (record.recalled) revert IdentityLotRecalled(lot_);
            _lots[lot_] = _packLot(record.index, record.createdAt, record.expiry, true);
            LotRef memory ref = _unpackLotRef(_lotRefs[record.index]);
            _lotRefs[record.index] = _packLotRef(ref.code, ref.gtin, ref.brand, true);
        }
        emit LotRecalled(lot_, id, gtin, reason, document);
    }

    /// @inheritdoc IProductRegistry
    function decommission(ItemId item, uint16 reason) external {
        (, ItemRecord memory record, LotRef memory ref) = _load(item);
        _checkBrandOperator(ref.brand);
        if (record.status == ItemStatus.Decommissioned) revert IdentityItemNotActive(item, record.status);
        _items[item] =
            _packItem(record.claimedBy, record.registeredAt, ItemStatus.Decommissioned, record.flags, record.lotIndex);
        emit ItemDecommissioned(item, ref.brand, reason);
    }

    // --------------------------------------------------------------------------------------------
    // Views
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IProductRegistry
    function verify(ItemId item) external view returns (ItemView memory) {
        return _view(item);
    }

    /// @inheritdoc IProductRegistry
    function verifyMerkle(MerkleItem calldata m) external view returns (ItemView memory v) {
        (ItemId item, LotId lot, RootRecord memory root) = _checkMerkle(m);
        if (_items[item] != 0) return _view(item);
        v.registered = true;
        v.brand = root.brand;
        v.gtin = m.gtin;
        v.lot = lot;
        v.lotCode = m.lot;
        v.expiry = root.expiry;
        v.status = ItemStatus.Active;
        v.lotRecalled = _unpackLot(_lots[lot]).recalled;
        v.registeredAt = root.committedAt;
        v.merkle = true;
        v.root = m.root;
    }

    /// @inheritdoc IProductRegistry
    function registered(ItemId[] calldata items) external view returns (bool[] memory result) {
        result = new bool[](items.length);
        for (uint256 i; i < items.length; ++i) {
            result[i] = _items[items[i]] != 0;
        }
    }

    /// @inheritdoc IProductRegistry
    function product(uint64 gtin) external view returns (ProductView memory) {
        ProductRecord memory record = _products[gtin];
        return ProductView(record.brand, record.registeredAt);
    }

    /// @inheritdoc IProductRegistry
    function brand(BrandId id) external view returns (BrandView memory v) {
        BrandRecord storage record = _brands[id];
        uint256[] storage keys = record.prefixKeys;
        v.name = record.name;
        v.registeredAt = record.registeredAt;
        v.prefixes = new string[](keys.length);
        for (uint256 i; i < keys.length; ++i) {
            v.prefixes[i] = gs1PrefixString(keys[i]);
        }
    }

    /// @inheritdoc IProductRegistry
    function brandCount() external view returns (uint32) {
        return _brandCount;
    }

    /// @inheritdoc IProductRegistry
    function brandOfPrefix(string calldata prefix) external view returns (BrandId) {
        uint256 key = gs1PrefixKey(bytes(prefix));
        if (key == 0) revert IdentityPrefixInvalid(prefix);
        return _prefixes[key].brand;
    }

    /// @inheritdoc IProductRegistry
    function lotRoot(bytes32 root) external view returns (LotRootView memory) {
        RootRecord memory record = _unpackRoot(_roots[root]);
        return LotRootView(record.brand, record.gtin, record.count, record.expiry, record.committedAt);
    }

    /// @inheritdoc IProductRegistry
    function line(address account) external view returns (LineView memory v) {
        uint256 word = _lines[account];
        if (word == 0) return v;
        uint256 ref = _lotRefs[uint40(word)];
        v.open = true;
        v.brand = _refBrand(ref);
        v.gtin = uint48(ref);
        v.lot = _lineLot(word, ref);
        v.lotCode = _refCode(ref);
        v.expiry = uint32(word >> 40);
    }

    /// @inheritdoc IProductRegistry
    function lotInfo(LotId lot) external view returns (LotView memory v) {
        uint256 word = _lots[lot];
        if (word == 0) return v;
        LotRecord memory record = _unpackLot(word);
        LotRef memory ref = _unpackLotRef(_lotRefs[record.index]);
        v.exists = true;
        v.brand = ref.brand;
        v.gtin = ref.gtin;
        v.lotCode = ref.code;
        v.expiry = record.expiry;
        v.recalled = record.recalled;
        v.createdAt = record.createdAt;
    }

    /// @inheritdoc IProductRegistry
    function itemId(uint64 gtin, bytes32 serial) external pure returns (ItemId) {
        if (!gs1GtinIsValid(gtin)) revert IdentityGtinInvalid(gtin);
        return _itemIdAt(_gtinPath(gtin) | GS1_PATH_SERIAL, gtin, serial);
    }

    /// @inheritdoc IProductRegistry
    function lotId(uint64 gtin, bytes32 lot) external pure returns (LotId) {
        if (!gs1GtinIsValid(gtin)) revert IdentityGtinInvalid(gtin);
        return _lotIdAt(_gtinPath(gtin), lot);
    }

    /// @inheritdoc IProductRegistry
    function claimDigest(ItemId item, address owner, uint256 deadline) external view returns (bytes32) {
        return _claimDigest(item, owner, deadline);
    }

    /// @inheritdoc IProductRegistry
    function brandAdminRole(BrandId id) public pure returns (bytes32) {
        return brandRoleId("o2ochain.identity.brand-admin", 29, id);
    }

    /// @inheritdoc IProductRegistry
    function registrantRole(BrandId id) public pure returns (bytes32) {
        return brandRoleId("o2ochain.identity.registrant", 28, id);
    }

    /// @inheritdoc IProductRegistry
    function sellerRole(BrandId id) public pure returns (bytes32) {
        return brandRoleId("o2ochain.identity.seller", 24, id);
    }

    /// @inheritdoc IProductRegistry
    function version() external pure returns (string memory) {
        return "0.1.0";
    }

    /// @dev ERC-165: IProductRegistry, plus what AccessControl supports (IAccessControl, IERC165).
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IProductRegistry).interfaceId || super.supportsInterface(interfaceId);
    }

    // --------------------------------------------------------------------------------------------
    // Internal: writes
    // --------------------------------------------------------------------------------------------

    /**
     * @dev Writes one {ItemRecord} per serial and emits {ItemRegistered} for each, reverting on
     * an invalid serial or an item already registered. `prefix` is the 22-byte path prefix
     * "/01/" + digits + "/21/"; per item only the serial is copied behind it and hashed.
     */
    function _writeItems(bytes32[] calldata serials, uint256 prefix, uint64 gtin, uint40 index) private {
        uint256 record = _packItem(address(0), uint40(block.number), ItemStatus.Active, 0, index);
        bytes32 topic = ItemRegistered.selector;
        uint256 failure; // 0 = none, 1 = invalid serial, 2 = item already registered
        bytes32 culprit;
        assembly ("memory-safe") {
            // Scratch memory past the free memory pointer: nothing is allocated in this loop.
            let buf := mload(0x40)
            mstore(buf, prefix)
            let slot := _items.slot
            let end := add(serials.offset, shl(5, serials.length))
            for { let p := serials.offset } lt(p, end) { p := add(p, 0x20) } {
                let serial := calldataload(p)
                // Valid iff nonzero and bytes 20..31 are zero (see gs1CodeLength).
                if or(iszero(serial), shl(160, serial)) {
                    failure := 1
                    culprit := serial
                    break
                }
                // Trailing zero bytes of the first 20 bytes, by binary search (see gs1CodeLength).
                let v := shr(96, serial)
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
                // ItemId = keccak256(prefix (22 bytes) ++ serial (20 - z/8 bytes)).
                mstore(add(buf, 22), serial)
                let item := keccak256(buf, sub(42, shr(3, z)))
                // Storage slot of _items[item]; a nonzero word is a registered item.
                mstore(0x00, item)
                mstore(0x20, slot)
                let s := keccak256(0x00, 0x40)
                if sload(s) {
                    failure := 2
                    culprit := item
                    break
                }
                sstore(s, record)
                log2(0, 0, topic, item)
            }
        }
        if (failure == 1) revert IdentitySerialInvalid(gtin, culprit);
        if (failure == 2) revert IdentityItemAlreadyRegistered(ItemId.wrap(culprit));
    }

    /// @dev The index of `lot`, for new items of it: creates the lot's records on its first use,
    /// else checks that it is not recalled and that `expiry` is its expiry.
    function _useLot(LotId lot, BrandId id, uint64 gtin, bytes32 code, uint32 expiry) private returns (uint40) {
        uint256 word = _lots[lot];
        if (word == 0) return _createLot(lot, id, gtin, code, expiry, false);
        LotRecord memory record = _unpackLot(word);
        if (record.recalled) revert IdentityLotRecalled(lot);
        if (record.expiry != expiry) revert IdentityLotExpiryMismatch(lot, record.expiry, expiry);
        return record.index;
    }

    /// @dev Writes the {RootRecord} of `root` once and emits {LotCommitted}; the caller has checked
    /// who commits and `count`.
    function _commitRoot(
        BrandId id,
        LotId lot,
        uint64 gtin,
        bytes32 code,
        uint32 expiry,
        bytes32 root,
        uint32 count,
        string calldata uri
    ) private {
        if (_roots[root] != 0) revert IdentityRootAlreadyCommitted(root);
        _roots[root] = _packRoot(id, gtin, count, expiry, uint40(block.number), lot);
        emit LotCommitted(id, lot, root, gtin, code, expiry, count, uri);
    }

    /// @dev Deletes the line `word` of `account` (its {Line} and {LineLot}) and emits {LineClosed}.
    function _closeLine(address account, uint256 word) private {
        delete _lines[account];
        uint256 ref = _lotRefs[uint40(word)];
        LotId lot = _lineLot(word, ref);
        delete _lineLots[_lineLotKey(account, lot)];
        emit LineClosed(account, _refBrand(ref), lot);
    }

    /**
     * @dev AccessControl's revocation (by {revokeRole} or {renounceRole}), which also deletes the
     * line of `account` when `role` is the registrant role of the line's brand: a key that may
     * not register a brand's goods any more has no line to register them with.
     */
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (!revoked) return revoked;
        uint256 word = _lines[account];
        if (word != 0 && role == registrantRole(_refBrand(_lotRefs[uint40(word)]))) _closeLine(account, word);
    }

    /// @dev Creates the two records of a new lot and returns its index (from 1).
    function _createLot(LotId lot, BrandId id, uint64 gtin, bytes32 code, uint32 expiry, bool recalled)
        private
        returns (uint40 index)
    {
        index = ++_lotCount;
        _lots[lot] = _packLot(index, uint40(block.number), expiry, recalled);
        // Safe cast: a registered GTIN is below 10^14 < 2^48.
        _lotRefs[index] = _packLotRef(code, uint48(gtin), id, recalled);
    }

    /// @dev Records `owner` as first buyer once the claim's authorisation has been checked.
    function _claim(ItemId item, uint256 word, ItemRecord memory record, LotRef memory ref, address owner, address by)
        private
    {
        if (owner == address(0)) revert IdentityInvalidOwner(owner);
        if (record.claimedBy != address(0)) revert IdentityItemAlreadyClaimed(item, record.claimedBy);
        if (record.status != ItemStatus.Active) revert IdentityItemNotActive(item, record.status);
        if (ref.recalled) revert IdentityLotRecalled(_lotIdAt(_gtinPath(ref.gtin), ref.code));
        _items[item] = word | uint160(owner); // claimedBy (bits 0..159) was zero
        emit ItemClaimed(item, owner, by);
    }

    function _assignPrefix(BrandId id, string calldata prefix) private {
        uint256 key = gs1PrefixKey(bytes(prefix));
        if (key == 0) revert IdentityPrefixInvalid(prefix);
        PrefixRecord storage record = _prefixes[key];
        if (BrandId.unwrap(record.brand) != 0) revert IdentityPrefixTaken(prefix, record.brand);
        if (record.nested != 0) revert IdentityPrefixNested(prefix);
        // Every shorter prefix of `prefix` (4 digits and more) must be free, and learns that a
        // longer one now starts with it. At most 8 of them: a rare registry-admin operation.
        uint256 length = key >> 64;
        uint256 value = uint64(key);
        for (uint256 shorter = length - 1; shorter >= 4; --shorter) {
            value /= 10;
            PrefixRecord storage ancestor = _prefixes[(shorter << 64) | value];
            if (BrandId.unwrap(ancestor.brand) != 0) revert IdentityPrefixNested(prefix);
            ++ancestor.nested;
        }
        record.brand = id;
        _brands[id].prefixKeys.push(key);
        emit CompanyPrefixAssigned(id, prefix);
    }

    // --------------------------------------------------------------------------------------------
    // Internal: reads and checks
    // --------------------------------------------------------------------------------------------

    /// @dev The brand that owns the company prefix of `gtin` (digits 2..L+1 of its 14 digits, for
    /// L in 4..12), or 0. Prefixes never nest, so the first match is the only one.
    function _prefixOwner(uint64 gtin) private view returns (BrandId) {
        uint256 divisor = 10; // 10^(13 - L): drops the digits after the prefix
        uint256 modulus = 1e12; // 10^L: drops the indicator digit
        for (uint256 length = 12; length >= 4; --length) {
            BrandId owner = _prefixes[(length << 64) | ((gtin / divisor) % modulus)].brand;
            if (BrandId.unwrap(owner) != 0) return owner;
            divisor *= 10;
            modulus /= 10;
        }
        return BrandId.wrap(0);
    }

    /// @dev The brand of product `gtin`; reverts when the product is unknown.
    function _productBrand(uint64 gtin) private view returns (BrandId id) {
        id = _products[gtin].brand;
        if (BrandId.unwrap(id) == 0) revert IdentityProductUnknown(gtin);
    }

    /// @dev The record of `item` (packed and unpacked) and of its lot; reverts when the item is unknown.
    function _load(ItemId item) private view returns (uint256 word, ItemRecord memory record, LotRef memory ref) {
        word = _items[item];
        if (word == 0) revert IdentityItemUnknown(item);
        record = _unpackItem(word);
        ref = _unpackLotRef(_lotRefs[record.lotIndex]);
    }

    function _view(ItemId item) private view returns (ItemView memory v) {
        uint256 word = _items[item];
        if (word == 0) return v;
        ItemRecord memory record = _unpackItem(word);
        LotRef memory ref = _unpackLotRef(_lotRefs[record.lotIndex]);
        v.registered = true;
        v.brand = ref.brand;
        v.gtin = ref.gtin;
        v.lot = _lotIdAt(_gtinPath(ref.gtin), ref.code);
        v.lotCode = ref.code;
        v.status = record.status;
        v.lotRecalled = ref.recalled;
        v.claimedBy = record.claimedBy;
        v.registeredAt = record.registeredAt;
        v.merkle = record.flags & FLAG_MERKLE != 0;
        if (v.merkle) {
            v.root = _itemRoots[item];
            v.expiry = _unpackRoot(_roots[v.root]).expiry;
        } else {
            v.expiry = _unpackLot(_lots[v.lot]).expiry;
        }
    }

    /// @dev Checks a Merkle item against its root; returns its ids and the root's record.
    function _checkMerkle(MerkleItem calldata m)
        private
        view
        returns (ItemId item, LotId lot, RootRecord memory root)
    {
        if (!gs1GtinIsValid(m.gtin)) revert IdentityGtinInvalid(m.gtin);
        uint256 path = _gtinPath(m.gtin);
        item = _itemIdAt(path | GS1_PATH_SERIAL, m.gtin, m.serial);
        lot = _lotIdAt(path, m.lot);
        uint256 word = _roots[m.root];
        if (word == 0) revert IdentityRootUnknown(m.root);
        root = _unpackRoot(word);
        if (root.gtin != m.gtin || root.lotTag != uint56(uint256(LotId.unwrap(lot)))) {
            revert IdentityProofInvalid(item, m.root);
        }
        if (_products[m.gtin].brand != root.brand) revert IdentityGtinNotOfBrand(m.gtin, root.brand);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(item, lot))));
        if (!MerkleProof.verifyCalldata(m.proof, m.root, leaf)) revert IdentityProofInvalid(item, m.root);
    }

    /**
     * @dev Reverts a {commitLineRoot} of `account` for `lot`, which has no {LineLot}: with
     * {IdentityNoOpenLine} when the key has no line at all, else {IdentityLineNotForLot}. The
     * second read is on the revert path only.
     */
    function _refuseLineRoot(address account, LotId lot) private view {
        if (_lines[account] == 0) revert IdentityNoOpenLine(account);
        revert IdentityLineNotForLot(account, lot);
    }

    /// @dev The checks of a root and its count common to {commitLot} and {commitLineRoot}.
    function _checkRoot(bytes32 root, uint32 count) private pure {
        if (count == 0) revert IdentityLotEmpty(root);
        if (count > MAX_LOT_ITEMS) revert IdentityLotTooLarge(count, MAX_LOT_ITEMS);
        if (root == 0) revert IdentityRootInvalid(root);
    }

    /// @dev LotId of the lot of line `word`, whose {LotRef} is `ref`: the line's item prefix
    /// with AI "/10/" in place of "/21/", then the lot code (valid: the lot exists).
    function _lineLot(uint256 word, uint256 ref) private pure returns (LotId) {
        bytes32 code = _refCode(ref);
        return LotId.wrap(gs1PathHash(((word >> 112) << 112) | GS1_PATH_LOT, code, gs1CodeLength(code)));
    }

    /// @dev Key of the {LineLot} of `account`'s line for `lot`: `keccak256(abi.encode(account, lot))`,
    /// hashed in scratch space (no memory allocated).
    function _lineLotKey(address account, LotId lot) private pure returns (bytes32 key) {
        assembly ("memory-safe") {
            mstore(0x00, and(account, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(0x20, lot)
            key := keccak256(0x00, 0x40)
        }
    }

    /// @dev Caller must hold the registrant or the brand admin role of `id`.
    function _checkBrandOperator(BrandId id) private view {
        address sender = _msgSender();
        bytes32 registrant = registrantRole(id);
        if (!hasRole(registrant, sender) && !hasRole(brandAdminRole(id), sender)) {
            revert AccessControlUnauthorizedAccount(sender, registrant);
        }
    }

    function _claimDigest(ItemId item, address owner, uint256 deadline) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(CLAIM_TYPEHASH, item, owner, deadline)));
    }

    /// @dev ItemId from the 22-byte prefix (with "/21/"); reverts on an invalid serial.
    function _itemIdAt(uint256 prefix, uint64 gtin, bytes32 serial) private pure returns (ItemId) {
        uint256 length = gs1CodeLength(serial);
        if (length == 0) revert IdentitySerialInvalid(gtin, serial);
        return ItemId.wrap(gs1PathHash(prefix, serial, length));
    }

    /// @dev LotId from the 18-byte GTIN path (without AI); reverts on an invalid lot code.
    function _lotIdAt(uint256 gtinPath, bytes32 code) private pure returns (LotId) {
        uint256 length = gs1CodeLength(code);
        if (length == 0) revert IdentityLotCodeInvalid(code);
        return LotId.wrap(gs1PathHash(gtinPath | GS1_PATH_LOT, code, length));
    }

    /**
     * @dev {gs1GtinPath} behind one private function: the optimizer (10,000 runs) would otherwise
     * inline its ~140 bytes at each of nine call sites (1.3 KB of the 24 KB code size limit) to
     * save a jump of about 30 gas on paths that render the digits once per transaction. No path
     * renders them per item: a batch renders them once, a line when it opens.
     */
    function _gtinPath(uint64 gtin) private pure returns (uint256) {
        return gs1GtinPath(gtin);
    }

    // --------------------------------------------------------------------------------------------
    // Internal: packed records (layouts in the struct comments)
    // --------------------------------------------------------------------------------------------

    // The `_pack…` functions take fields as arguments, not memory structs: they sit on the
    // write paths, where a struct allocation is gas for nothing.

    function _packItem(address claimedBy, uint40 registeredAt, ItemStatus status, uint8 flags, uint40 lotIndex)
        private
        pure
        returns (uint256)
    {
        return uint256(uint160(claimedBy)) | (uint256(registeredAt) << 160) | (uint256(uint8(status)) << 200)
            | (uint256(flags) << 208) | (uint256(lotIndex) << 216);
    }

    function _unpackItem(uint256 word) private pure returns (ItemRecord memory r) {
        r.claimedBy = address(uint160(word));
        r.registeredAt = uint40(word >> 160);
        r.status = ItemStatus(uint8(word >> 200));
        r.flags = uint8(word >> 208);
        r.lotIndex = uint40(word >> 216);
    }

    function _packLot(uint40 index, uint40 createdAt, uint32 expiry, bool recalled) private pure returns (uint256) {
        return uint256(index) | (uint256(createdAt) << 40) | (uint256(expiry) << 80) | (recalled ? uint256(1) << 112 : 0);
    }

    function _unpackLot(uint256 word) private pure returns (LotRecord memory r) {
        r.index = uint40(word);
        r.createdAt = uint40(word >> 40);
        r.expiry = uint32(word >> 80);
        r.recalled = (word >> 112) & 1 != 0;
    }

    /// @dev `code` must be a valid code (zero past byte 20).
    function _packLotRef(bytes32 code, uint48 gtin, BrandId id, bool recalled) private pure returns (uint256) {
        return uint256(code) | uint256(gtin) | (uint256(BrandId.unwrap(id)) << 48) | (recalled ? uint256(1) << 80 : 0);
    }

    function _unpackLotRef(uint256 word) private pure returns (LotRef memory r) {
        r.code = bytes32((word >> 96) << 96);
        r.gtin = uint48(word);
        r.brand = BrandId.wrap(uint32(word >> 48));
        r.recalled = (word >> 80) & 1 != 0;
    }

    /// @dev `gtin` must be below 2^48 (a registered GTIN is below 10^14); `lot` is truncated to
    /// its 56-bit tag.
    function _packRoot(BrandId id, uint64 gtin, uint32 count, uint32 expiry, uint40 committedAt, LotId lot)
        private
        pure
        returns (uint256)
    {
        return uint256(BrandId.unwrap(id)) | (uint256(gtin) << 32) | (uint256(count) << 80)
            | (uint256(expiry) << 112) | (uint256(committedAt) << 144)
            | (uint256(uint56(uint256(LotId.unwrap(lot)))) << 184);
    }

    /// @dev `itemPrefix` is the 22-byte item path prefix in the top bytes of a word (low 80 bits zero).
    function _packLine(uint256 itemPrefix, uint32 expiry, uint40 lotIndex) private pure returns (uint256) {
        return itemPrefix | (uint256(expiry) << 40) | lotIndex;
    }

    /// @dev Safe cast: a registered GTIN is below 10^14 < 2^48.
    function _packLineLot(BrandId id, uint64 gtin, uint32 expiry, uint40 lotIndex) private pure returns (uint256) {
        return uint256(BrandId.unwrap(id)) | (uint256(uint48(gtin)) << 32) | (uint256(expiry) << 80)
            | (uint256(lotIndex) << 112);
    }

    /// @dev {LotRef.brand} of packed LotRef `ref`.
    function _refBrand(uint256 ref) private pure returns (BrandId) {
        return BrandId.wrap(uint32(ref >> 48));
    }

    /// @dev {LotRef.code} of packed LotRef `ref`.
    function _refCode(uint256 ref) private pure returns (bytes32) {
        return bytes32((ref >> 96) << 96);
    }

    function _unpackRoot(uint256 word) private pure returns (RootRecord memory r) {
        r.brand = BrandId.wrap(uint32(word));
        r.gtin = uint48(word >> 32);
        r.count = uint32(word >> 80);
        r.expiry = uint32(word >> 112);
        r.committedAt = uint40(word >> 144);
        r.lotTag = uint56(word >> 184);
    }
}
