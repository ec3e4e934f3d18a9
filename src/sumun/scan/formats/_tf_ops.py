"""TensorFlow operation names: the ordinary compute ops (allowlist) and the ops that reach outside
the graph (file system, network, Python), for the SavedModel analyzer (`tensorflow.py`).

Names are the `REGISTER_OP("…")` names of TensorFlow's op registry, `tensorflow/core/ops/*.cc`
(grouped below by the file that registers them). The allowlist holds what Keras, `tf.function`
and the TF1 estimators put in the graphs they export: maths, arrays, neural-network layers,
variables, control flow, random numbers, strings, images, lookup tables, in-memory datasets. An
op missing from both lists is *unknown*: not evidence of an attack, but nothing this scanner has
vetted (reported medium, like an unknown pickle global).

The dangerous ops come from public research on SavedModels as programs:

- TensorAbuse (Zhu et al., "My Model is Malware to You: Transforming AI Models into Malware by
  Abusing TensorFlow APIs", IEEE S&P 2025; github.com/ZJU-SEC/TensorAbuse, `TensorDetect/
  settings.py`): ReadFile, WriteFile, MatchingFiles, ImmutableConst, the file-backed datasets,
  InitializeTableFromTextFile, Save/SaveSlices/SaveV2, PrintV2, DebugIdentity*, DistributedSave,
  the Rpc* ops and the tf.data service (RegisterDataset, DataServiceDataset*);
- TensorFlow's own `saved_model_cli scan` deny list (ReadFile, WriteFile, PrintV2) and the
  TensorFlow security guidance ("TensorFlow models are programs", SECURITY.md);
- `tf.py_function`/`tf.numpy_function` (PyFunc, PyFuncStateless, EagerPyFunc: script_ops.cc in
  tensorflow/python/ops), which call back into Python in the loading process.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["CHECKPOINT_OPS", "DANGEROUS_OPS", "ORDINARY_OPS"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# (severity label, what the op does) — severity is resolved by the analyzer.
_WRITE = "writes files at a path the graph chooses"
_READ = "reads files at a path the graph chooses"
_NET = "opens network connections from the loading process"
_PY = "calls a Python function in the loading process"

DANGEROUS_OPS = MappingProxyType(
    {
        # io_ops.cc
        "WriteFile": ("critical", _WRITE),
        "ReadFile": ("high", _READ),
        "MatchingFiles": ("high", "lists files matching a pattern (file-system discovery)"),
        "WholeFileReader": ("high", _READ),
        "WholeFileReaderV2": ("high", _READ),
        "TextLineReader": ("high", _READ),
        "TextLineReaderV2": ("high", _READ),
        "FixedLengthRecordReader": ("high", _READ),
        "FixedLengthRecordReaderV2": ("high", _READ),
        "TFRecordReader": ("high", _READ),
        "TFRecordReaderV2": ("high", _READ),
        "LMDBReader": ("high", _READ),
        # array_ops.cc: memory-maps the file named by its `memory_region_name` attribute
        "ImmutableConst": ("high", "memory-maps the file named in its attributes"),
        # lookup_ops.cc: vocabulary files (a model's own assets are reported lower, see analyzer)
        "InitializeTableFromTextFile": ("high", _READ),
        "InitializeTableFromTextFileV2": ("high", _READ),
        # dataset_ops.cc / experimental_dataset_ops.cc: file-backed datasets
        "FixedLengthRecordDataset": ("high", _READ),
        "FixedLengthRecordDatasetV2": ("high", _READ),
        "TextLineDataset": ("high", _READ),
        "TFRecordDataset": ("high", _READ),
        "TFRecordDatasetV2": ("high", _READ),
        "CSVDataset": ("high", _READ),
        "CSVDatasetV2": ("high", _READ),
        "ExperimentalCSVDataset": ("high", _READ),
        "LMDBDataset": ("high", _READ),
        "ExperimentalLMDBDataset": ("high", _READ),
        "SqlDataset": ("high", "opens a database file and runs SQL on it"),
        "ExperimentalSqlDataset": ("high", "opens a database file and runs SQL on it"),
        "MatchingFilesDataset": ("high", "lists files matching a pattern"),
        "ExperimentalMatchingFilesDataset": ("high", "lists files matching a pattern"),
        "LoadDataset": ("high", _READ),
        "SnapshotDataset": ("critical", _WRITE),
        "SnapshotDatasetV2": ("critical", _WRITE),
        "SnapshotDatasetReader": ("high", _READ),
        "SnapshotChunkDataset": ("high", _READ),
        "SnapshotNestedDatasetReader": ("high", _READ),
        "SaveDataset": ("critical", _WRITE),
        "SaveDatasetV2": ("critical", _WRITE),
        "DatasetToTFRecord": ("critical", _WRITE),
        "ExperimentalDatasetToTFRecord": ("critical", _WRITE),
        "CacheDataset": ("high", "caches dataset elements to a file it names"),
        "CacheDatasetV2": ("high", "caches dataset elements to a file it names"),
        "DistributedSave": ("critical", _WRITE + " (tf.data service snapshot)"),
        # tf.data service and RPC (data_service_ops.cc, rpc_ops.cc)
        "RegisterDataset": ("high", _NET),
        "RegisterDatasetV2": ("high", _NET),
        "DataServiceDataset": ("high", _NET),
        "DataServiceDatasetV2": ("high", _NET),
        "DataServiceDatasetV3": ("high", _NET),
        "DataServiceDatasetV4": ("high", _NET),
        "RpcCall": ("high", _NET),
        "RpcClient": ("high", _NET),
        "RpcServer": ("high", _NET),
        "RpcServerStart": ("high", _NET),
        "RpcServerRegister": ("high", _NET),
        "RpcCheckStatus": ("high", _NET),
        "RpcGetValue": ("high", _NET),
        "Rpc": ("high", _NET),
        "TryRpc": ("high", _NET),
        # cloud_ops.cc / filesystem_ops.cc
        "GcsConfigureCredentials": ("high", "installs cloud-storage credentials"),
        "GcsConfigureBlockCache": ("high", "reconfigures the cloud-storage file system"),
        "BigQueryReader": ("high", _NET),
        "GenerateBigQueryReaderPartitions": ("high", _NET),
        "FileSystemSetConfiguration": ("high", "reconfigures a file system"),
        # logging_ops.cc / summary_ops.cc: event files written to a log directory
        "CreateSummaryFileWriter": ("high", _WRITE),
        "CreateSummaryDbWriter": ("high", _WRITE),
        "WriteSummary": ("high", _WRITE),
        "WriteRawProtoSummary": ("high", _WRITE),
        "WriteScalarSummary": ("high", _WRITE),
        "WriteHistogramSummary": ("high", _WRITE),
        "WriteImageSummary": ("high", _WRITE),
        "WriteAudioSummary": ("high", _WRITE),
        "WriteGraphSummary": ("high", _WRITE),
        "ImportEvent": ("high", _WRITE),
        # debug_ops.cc: `debug_urls` may be file:// or grpc://
        "DebugIdentity": ("high", "dumps tensors to the file or gRPC URLs in its attributes"),
        "DebugIdentityV2": ("high", "dumps tensors to the directory in its attributes"),
        "DebugIdentityV3": ("high", "dumps tensors to the file or gRPC URLs in its attributes"),
        "DebugNanCount": ("high", "dumps to the file or gRPC URLs in its attributes"),
        "DebugNumericSummary": ("high", "dumps to the file or gRPC URLs in its attributes"),
        "DebugNumericSummaryV2": ("high", "dumps to the file or gRPC URLs in its attributes"),
        # tensorflow/python/ops/script_ops.py (registered in tensorflow/core/ops/script_ops.cc)
        "PyFunc": ("high", _PY),
        "PyFuncStateless": ("high", _PY),
        "EagerPyFunc": ("high", _PY),
    }
)

# io_ops.cc checkpoint ops: every SavedModel holds them in its saver (TF1 `save/…` scope, TF2
# `__inference__traced_save_N` / `__inference__traced_restore_N` functions). Elsewhere they
# read or write checkpoint files at a path the graph chooses (TensorAbuse: Save, SaveSlices).
CHECKPOINT_OPS = MappingProxyType(
    {
        "SaveV2": ("critical", _WRITE),
        "Save": ("critical", _WRITE),
        "SaveSlices": ("critical", _WRITE),
        "MergeV2Checkpoints": ("critical", "merges, writes and deletes checkpoint files"),
        "RestoreV2": ("high", _READ),
        "Restore": ("high", _READ),
        "RestoreSlice": ("high", _READ),
    }
)

ORDINARY_OPS = (
    # no_op.cc, function_ops.cc, functional_ops.cc, control_flow_ops.cc
    _words(
        "NoOp _Arg _Retval _DeviceArg _DeviceRetval _ListToArray _ArrayToList "
        "PartitionedCall StatefulPartitionedCall SymbolicGradient If StatelessIf _If While "
        "StatelessWhile _While Case StatelessCase For FakeParam Enter Exit Merge Switch "
        "NextIteration LoopCond RefEnter RefExit RefMerge RefSwitch RefNextIteration "
        "RefSelect ControlTrigger _SwitchN Assert Print"
    )
    # array_ops.cc
    | _words(
        "Const HostConst Identity IdentityN Placeholder PlaceholderV2 PlaceholderWithDefault "
        "ZerosLike OnesLike Fill Shape ShapeN Size Rank Reshape Squeeze ExpandDims Transpose "
        "ConjugateTranspose Pack Unpack Concat ConcatV2 ConcatOffset Split SplitV Slice "
        "StridedSlice StridedSliceGrad StridedSliceAssign ResourceStridedSliceAssign "
        "TensorStridedSliceUpdate Gather GatherV2 GatherNd ScatterNd ScatterNdNonAliasingAdd "
        "TensorScatterUpdate TensorScatterAdd TensorScatterSub TensorScatterMax "
        "TensorScatterMin Tile TileGrad Pad PadV2 MirrorPad MirrorPadGrad Reverse ReverseV2 "
        "ReverseSequence Where Unique UniqueV2 UniqueWithCounts UniqueWithCountsV2 OneHot "
        "BroadcastTo BroadcastArgs BroadcastGradientArgs StopGradient PreventGradient "
        "CheckNumerics CheckNumericsV2 EnsureShape MatrixDiag MatrixDiagV2 MatrixDiagV3 "
        "MatrixDiagPart MatrixDiagPartV2 MatrixDiagPartV3 MatrixSetDiag MatrixSetDiagV2 "
        "MatrixSetDiagV3 MatrixBandPart Diag DiagPart Empty InvertPermutation ListDiff "
        "SpaceToBatch SpaceToBatchND BatchToSpace BatchToSpaceND SpaceToDepth DepthToSpace "
        "ExtractImagePatches ExtractVolumePatches Bitcast Snapshot GuaranteeConst DeepCopy "
        "InplaceUpdate InplaceAdd InplaceSub EditDistance QuantizeAndDequantize "
        "QuantizeAndDequantizeV2 QuantizeAndDequantizeV3 QuantizeAndDequantizeV4 "
        "FakeQuantWithMinMaxArgs FakeQuantWithMinMaxVars FakeQuantWithMinMaxVarsPerChannel "
        "FakeQuantWithMinMaxArgsGradient FakeQuantWithMinMaxVarsGradient QuantizeV2 Dequantize "
        "UpperBound LowerBound UnravelIndex Roll ParallelConcat _ParallelConcatStart "
        "_ParallelConcatUpdate"
    )
    # math_ops.cc, bitwise_ops.cc, special functions
    | _words(
        "AddN AccumulateNV2 BatchMatMul BatchMatMulV2 BatchMatMulV3 MatMul SparseMatMul Cast "
        "Abs ComplexAbs Neg Inv Reciprocal Square Sqrt Rsqrt Exp Expm1 Log Log1p Sinh Cosh "
        "Tanh Asinh Acosh Atanh Sigmoid Sin Cos Tan Asin Acos Atan Atan2 IsNan IsInf IsFinite "
        "Sign Floor Ceil Rint Round Add AddV2 Sub Mul MulNoNan Div DivNoNan FloorDiv "
        "TruncateDiv RealDiv TruncateMod FloorMod Mod SquaredDifference Maximum Minimum Pow "
        "Igamma Igammac IgammaGradA Lgamma Digamma Erf Erfc Erfinv Ndtri Zeta Polygamma "
        "Betainc BesselI0e BesselI1e Less LessEqual Greater GreaterEqual Equal NotEqual "
        "ApproximateEqual LogicalNot LogicalAnd LogicalOr Select SelectV2 Sum Prod Mean Max "
        "Min ArgMax ArgMin All Any EuclideanNorm Range LinSpace Complex Real Imag Angle Conj "
        "Cross Cumsum Cumprod CumulativeLogsumexp Bincount DenseBincount SegmentSum "
        "SegmentSumV2 SegmentMean SegmentProd SegmentMin SegmentMax UnsortedSegmentSum "
        "UnsortedSegmentProd UnsortedSegmentMin UnsortedSegmentMax SparseSegmentSum "
        "SparseSegmentMean SparseSegmentSqrtN SparseSegmentSumWithNumSegments "
        "SparseSegmentMeanWithNumSegments SparseSegmentSqrtNWithNumSegments "
        "SparseSegmentSumGrad SparseSegmentMeanGrad SparseSegmentSqrtNGrad "
        "HistogramFixedWidth ClipByValue Xlogy Xdivy Xlog1py SqrtGrad RsqrtGrad TanhGrad "
        "SigmoidGrad ReciprocalGrad InvGrad BiasAdd BiasAddV1 BiasAddGrad Einsum NextAfter "
        "RequantizationRange Requantize QuantizedMatMul QuantizedBiasAdd BitwiseAnd BitwiseOr "
        "BitwiseXor Invert LeftShift RightShift PopulationCount Bucketize"
    )
    # linalg_ops.cc, spectral_ops.cc
    | _words(
        "MatrixDeterminant LogMatrixDeterminant MatrixInverse Cholesky CholeskyGrad Qr Svd "
        "SelfAdjointEig SelfAdjointEigV2 MatrixSolve MatrixTriangularSolve MatrixSolveLs Eig "
        "Lu MatrixExponential MatrixLogarithm MatrixSquareRoot TridiagonalSolve "
        "TridiagonalMatMul BandedTriangularSolve FFT IFFT RFFT IRFFT FFT2D IFFT2D RFFT2D "
        "IRFFT2D FFT3D IFFT3D RFFT3D IRFFT3D FFTND IFFTND RFFTND IRFFTND"
    )
    # nn_ops.cc, ctc_ops.cc, cudnn_rnn_ops.cc, rnn_ops.cc
    | _words(
        "Conv Conv2D Conv2DBackpropInput Conv2DBackpropInputV2 Conv2DBackpropFilter "
        "Conv2DBackpropFilterV2 Conv3D Conv3DBackpropInput Conv3DBackpropInputV2 "
        "Conv3DBackpropFilter Conv3DBackpropFilterV2 DepthwiseConv2dNative "
        "DepthwiseConv2dNativeBackpropInput DepthwiseConv2dNativeBackpropFilter AvgPool "
        "AvgPool3D AvgPoolGrad AvgPool3DGrad MaxPool MaxPoolV2 MaxPool3D MaxPoolWithArgmax "
        "MaxPoolGrad MaxPoolGradV2 MaxPool3DGrad MaxPoolGradGrad MaxPoolGradGradV2 "
        "MaxPoolGradWithArgmax FusedBatchNorm FusedBatchNormV2 FusedBatchNormV3 "
        "FusedBatchNormGrad FusedBatchNormGradV2 FusedBatchNormGradV3 "
        "BatchNormWithGlobalNormalization BatchNormWithGlobalNormalizationGrad Relu Relu6 Elu "
        "Selu LeakyRelu Softplus Softsign Softmax LogSoftmax ReluGrad Relu6Grad EluGrad "
        "SeluGrad LeakyReluGrad SoftplusGrad SoftsignGrad SoftmaxCrossEntropyWithLogits "
        "SparseSoftmaxCrossEntropyWithLogits InTopK InTopKV2 TopK TopKV2 ApproxTopK NthElement "
        "L2Loss LRN LRNGrad Dilation2D Dilation2DBackpropInput Dilation2DBackpropFilter "
        "FractionalMaxPool FractionalAvgPool FractionalMaxPoolGrad FractionalAvgPoolGrad "
        "DataFormatDimMap DataFormatVecPermute _FusedConv2D _FusedMatMul _FusedBatchNormEx "
        "_FusedDepthwiseConv2dNative FusedPadConv2D FusedResizeAndPadConv2D IsotonicRegression "
        "CTCLoss CTCLossV2 CTCGreedyDecoder CTCBeamSearchDecoder CudnnRNN CudnnRNNV2 "
        "CudnnRNNV3 CudnnRNNBackprop CudnnRNNBackpropV2 CudnnRNNBackpropV3 CudnnRNNParamsSize "
        "CudnnRNNCanonicalToParams CudnnRNNCanonicalToParamsV2 CudnnRNNParamsToCanonical "
        "CudnnRNNParamsToCanonicalV2 BlockLSTM BlockLSTMV2 BlockLSTMGrad BlockLSTMGradV2 "
        "LSTMBlockCell LSTMBlockCellGrad GRUBlockCell GRUBlockCellGrad"
    )
    # random_ops.cc, stateless_random_ops*.cc, stateful_random_ops.cc
    | _words(
        "RandomUniform RandomUniformInt RandomStandardNormal TruncatedNormal RandomShuffle "
        "Multinomial RandomGamma RandomGammaGrad RandomPoisson RandomPoissonV2 "
        "ParameterizedTruncatedNormal StatelessRandomUniform StatelessRandomNormal "
        "StatelessTruncatedNormal StatelessRandomUniformInt StatelessRandomUniformFullInt "
        "StatelessMultinomial StatelessRandomUniformV2 StatelessRandomNormalV2 "
        "StatelessTruncatedNormalV2 StatelessRandomUniformIntV2 "
        "StatelessRandomUniformFullIntV2 StatelessRandomGetKeyCounterAlg "
        "StatelessRandomGetKeyCounter StatelessRandomGetAlg StatelessRandomBinomial "
        "StatelessRandomGammaV2 StatelessRandomGammaV3 StatelessRandomPoisson "
        "StatelessParameterizedTruncatedNormal StatelessShuffle RngBitGenerator "
        "RngReadAndSkip StatefulUniform StatefulStandardNormal StatefulStandardNormalV2 "
        "StatefulTruncatedNormal StatefulUniformInt StatefulUniformFullInt "
        "StatefulRandomBinomial NonDeterministicInts RandomIndexShuffle AnonymousSeedGenerator "
        "DeleteSeedGenerator DummySeedGenerator AnonymousRandomSeedGenerator "
        "DeleteRandomSeedGenerator"
    )
    # resource_variable_ops.cc, state_ops.cc, training_ops.cc (optimizers)
    | _words(
        "VarHandleOp _VarHandlesOp ReadVariableOp _ReadVariablesOp AssignVariableOp "
        "AssignAddVariableOp AssignSubVariableOp VarIsInitializedOp DestroyResourceOp "
        "VariableShape DisableCopyOnRead ResourceGather ResourceGatherNd ResourceScatterAdd "
        "ResourceScatterSub ResourceScatterMul ResourceScatterDiv ResourceScatterMin "
        "ResourceScatterMax ResourceScatterUpdate ResourceScatterNdUpdate ResourceScatterNdAdd "
        "ResourceScatterNdSub ResourceScatterNdMax ResourceScatterNdMin Variable VariableV2 "
        "Assign AssignAdd AssignSub IsVariableInitialized TemporaryVariable "
        "DestroyTemporaryVariable ScatterUpdate ScatterAdd ScatterSub ScatterMul ScatterDiv "
        "ScatterMin ScatterMax ScatterNdUpdate ScatterNdAdd ScatterNdSub CountUpTo "
        "ResourceCountUpTo ApplyGradientDescent ResourceApplyGradientDescent ApplyMomentum "
        "ResourceApplyMomentum ResourceApplyKerasMomentum ApplyAdam ResourceApplyAdam "
        "ResourceApplyAdamWithAmsgrad ApplyAdaMax ResourceApplyAdaMax ApplyRMSProp "
        "ResourceApplyRMSProp ApplyCenteredRMSProp ResourceApplyCenteredRMSProp ApplyAdagrad "
        "ResourceApplyAdagrad ApplyAdagradV2 ResourceApplyAdagradV2 ApplyAdadelta "
        "ResourceApplyAdadelta ApplyFtrl ResourceApplyFtrl ApplyFtrlV2 ResourceApplyFtrlV2 "
        "ApplyProximalAdagrad ResourceApplyProximalAdagrad ApplyProximalGradientDescent "
        "ResourceApplyProximalGradientDescent ApplyAddSign ResourceApplyAddSign "
        "ApplyPowerSign ResourceApplyPowerSign ApplyAdagradDA ResourceApplyAdagradDA "
        "ResourceSparseApplyAdagrad ResourceSparseApplyAdagradV2 ResourceSparseApplyMomentum "
        "ResourceSparseApplyKerasMomentum ResourceSparseApplyFtrl ResourceSparseApplyFtrlV2 "
        "ResourceSparseApplyRMSProp ResourceSparseApplyAdadelta SparseApplyAdagrad "
        "SparseApplyMomentum SparseApplyFtrl"
    )
    # string_ops.cc, parsing_ops.cc, encode/decode ops on tensors in memory
    | _words(
        "StringJoin StringSplit StringSplitV2 StringToNumber AsString StringLength Substr "
        "StringStrip StringLower StringUpper RegexReplace StaticRegexReplace RegexFullMatch "
        "StaticRegexFullMatch StringToHashBucket StringToHashBucketFast "
        "StringToHashBucketStrong ReduceJoin StringFormat UnicodeDecode "
        "UnicodeDecodeWithOffsets UnicodeEncode UnicodeScript UnicodeTranscode EncodeBase64 "
        "DecodeBase64 StringNGrams DecodeRaw DecodePaddedRaw DecodeCSV DecodeJSONExample "
        "DecodeCompressed ParseExample ParseExampleV2 ParseSingleExample ParseSequenceExample "
        "ParseSequenceExampleV2 ParseSingleSequenceExample ParseTensor SerializeTensor "
        "SerializeManySparse Fingerprint Timestamp ShardedFilename ShardedFilespec "
        "ScalarSummary HistogramSummary ImageSummary AudioSummary AudioSummaryV2 "
        "TensorSummary TensorSummaryV2 MergeSummary"
    )
    # image_ops.cc, audio_ops.cc
    | _words(
        "ResizeBilinear ResizeNearestNeighbor ResizeBicubic ResizeArea ResizeBilinearGrad "
        "ResizeNearestNeighborGrad ResizeBicubicGrad ScaleAndTranslate ScaleAndTranslateGrad "
        "CropAndResize CropAndResizeGradImage CropAndResizeGradBoxes DecodeJpeg DecodePng "
        "DecodeImage DecodeGif DecodeBmp DecodeWebP DecodeAndCropJpeg ExtractJpegShape "
        "EncodeJpeg EncodeJpegVariableQuality EncodePng AdjustContrast AdjustContrastv2 "
        "AdjustHue AdjustSaturation RGBToHSV HSVToRGB NonMaxSuppression NonMaxSuppressionV2 "
        "NonMaxSuppressionV3 NonMaxSuppressionV4 NonMaxSuppressionV5 "
        "NonMaxSuppressionWithOverlaps CombinedNonMaxSuppression ExtractGlimpse "
        "ExtractGlimpseV2 DrawBoundingBoxes DrawBoundingBoxesV2 SampleDistortedBoundingBox "
        "SampleDistortedBoundingBoxV2 StatelessSampleDistortedBoundingBox "
        "ImageProjectiveTransformV2 ImageProjectiveTransformV3 AudioSpectrogram Mfcc "
        "DecodeWav EncodeWav"
    )
    # lookup_ops.cc (in-memory tables; Keras StringLookup/IntegerLookup)
    | _words(
        "HashTable HashTableV2 MutableHashTable MutableHashTableV2 MutableHashTableOfTensors "
        "MutableHashTableOfTensorsV2 MutableDenseHashTable MutableDenseHashTableV2 "
        "AnonymousHashTable AnonymousMutableHashTable AnonymousMutableHashTableOfTensors "
        "AnonymousMutableDenseHashTable LookupTableFind LookupTableFindV2 LookupTableInsert "
        "LookupTableInsertV2 LookupTableImport LookupTableImportV2 LookupTableExport "
        "LookupTableExportV2 LookupTableSize LookupTableSizeV2 LookupTableRemoveV2 "
        "InitializeTable InitializeTableV2"
    )
    # data_flow_ops.cc, list_ops.cc, map_ops.cc, optional_ops.cc
    | _words(
        "TensorArrayV3 TensorArrayReadV3 TensorArrayWriteV3 TensorArrayGatherV3 "
        "TensorArrayScatterV3 TensorArraySizeV3 TensorArrayConcatV3 TensorArraySplitV3 "
        "TensorArrayCloseV3 TensorArrayGradV3 TensorArrayGradWithShape TensorArrayV2 "
        "TensorArrayReadV2 TensorArrayWriteV2 TensorArrayGatherV2 TensorArrayScatterV2 "
        "TensorArraySizeV2 TensorArrayConcatV2 TensorArraySplitV2 TensorArrayCloseV2 "
        "TensorArrayGradV2 TensorListReserve TensorListFromTensor TensorListStack "
        "TensorListGetItem TensorListSetItem TensorListPushBack TensorListPushBackBatch "
        "TensorListPopBack TensorListLength TensorListElementShape EmptyTensorList "
        "TensorListConcat TensorListConcatV2 TensorListGather TensorListScatter "
        "TensorListScatterV2 TensorListScatterIntoExistingList TensorListResize "
        "TensorListSplit TensorListConcatLists DynamicPartition DynamicStitch "
        "ParallelDynamicStitch FIFOQueue FIFOQueueV2 PaddingFIFOQueueV2 RandomShuffleQueueV2 "
        "PriorityQueueV2 QueueEnqueueV2 QueueEnqueueManyV2 QueueDequeueV2 QueueDequeueManyV2 "
        "QueueDequeueUpToV2 QueueCloseV2 QueueSizeV2 QueueIsClosedV2 StackV2 StackPushV2 "
        "StackPopV2 StackCloseV2 EmptyTensorMap TensorMapInsert TensorMapLookup TensorMapErase "
        "TensorMapSize TensorMapHasKey TensorMapStackKeys OptionalFromValue OptionalGetValue "
        "OptionalHasValue OptionalNone"
    )
    # sparse_ops.cc, set_ops.cc, ragged_*_ops.cc, count_ops.cc
    | _words(
        "SparseTensorDenseMatMul SparseToDense SparseReshape SparseFillEmptyRows "
        "SparseFillEmptyRowsGrad SparseAdd SparseAddGrad SparseReduceSum "
        "SparseReduceSumSparse SparseReduceMax SparseReduceMaxSparse SparseSlice "
        "SparseSliceGrad SparseConcat SparseReorder SparseTensorDenseAdd SerializeSparse "
        "DeserializeSparse DeserializeManySparse SparseCross SparseCrossV2 SparseCrossHashed "
        "SparseSoftmax SparseSparseMaximum SparseSparseMinimum SparseDenseCwiseMul "
        "SparseDenseCwiseAdd SparseDenseCwiseDiv SparseSplit SparseSegmentSumGradV2 "
        "SparseCountSparseOutput DenseCountSparseOutput RaggedCountSparseOutput "
        "SparseBincount RaggedBincount SetSize DenseToDenseSetOperation "
        "DenseToSparseSetOperation SparseToSparseSetOperation RaggedTensorToTensor "
        "RaggedTensorFromVariant RaggedTensorToVariant RaggedTensorToVariantGradient "
        "RaggedGather RaggedRange RaggedTensorToSparse RaggedCross RaggedFillEmptyRows "
        "RaggedFillEmptyRowsGrad"
    )
    # dataset_ops.cc: in-memory datasets and iterators (no file, no network)
    | _words(
        "TensorDataset TensorSliceDataset SparseTensorSliceDataset RangeDataset "
        "BatchDataset BatchDatasetV2 PaddedBatchDataset PaddedBatchDatasetV2 MapDataset "
        "ParallelMapDataset ParallelMapDatasetV2 FilterDataset PrefetchDataset "
        "ShuffleDataset ShuffleDatasetV2 ShuffleDatasetV3 ShuffleAndRepeatDataset "
        "ShuffleAndRepeatDatasetV2 RepeatDataset TakeDataset SkipDataset ZipDataset "
        "ConcatenateDataset FlatMapDataset InterleaveDataset ParallelInterleaveDatasetV2 "
        "ParallelInterleaveDatasetV3 ParallelInterleaveDatasetV4 ParallelBatchDataset "
        "OptimizeDataset OptimizeDatasetV2 ModelDataset OptionsDataset "
        "FinalizeDataset WindowDataset ScanDataset TakeWhileDataset UnbatchDataset "
        "MapAndBatchDataset ExperimentalMapAndBatchDataset RebatchDataset RebatchDatasetV2 "
        "DatasetCardinality ReduceDataset AnonymousIterator AnonymousIteratorV2 "
        "AnonymousIteratorV3 Iterator IteratorV2 MakeIterator IteratorGetNext "
        "IteratorGetNextSync IteratorGetNextAsOptional IteratorToStringHandle "
        "IteratorFromStringHandleV2 DeleteIterator DatasetToSingleElement "
        "AnonymousMemoryCache DeleteMemoryCache AnonymousMultiDeviceIterator "
        "AnonymousMultiDeviceIteratorV3 DeleteMultiDeviceIterator"
    )
    # xla_ops / tpu_ops emitted by jax2tf and TPU exports
    | _words(
        "XlaCallModule XlaSharding XlaDot XlaDotV2 XlaConv XlaConvV2 XlaReduceWindow "
        "XlaGather XlaScatter XlaPad XlaSelectAndScatter XlaDynamicSlice "
        "XlaDynamicUpdateSlice XlaSort XlaVariadicSort XlaReduce XlaVariadicReduceV2 "
        "XlaOptimizationBarrier TPUReplicateMetadata TPUReplicatedInput TPUReplicatedOutput "
        "TPUCompilationResult TPUPartitionedCall TPUOrdinalSelector"
    )
)
